//! Schedules and failures on real processes: the backoff of `on_error = "continue"` measured
//! from the log's time stamps, `max_failures`, a stop during a backoff sleep, the `missed`
//! policies, `jitter`, and the calendar across the two DST days under a fake wall clock
//! (libfaketime, E2E-PEERS.md §7).
//!
//! Timing bounds are on the real process, with room for a loaded machine above each expected
//! figure and a few milliseconds below it (the stamps' rounding).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_tests::{
    exit_within, faketime, kill, lines_with, read, stamp_ms, wait_for_line, Reap, TempDir, PATIENCE,
};

/// How much later than expected a start may be on a loaded machine.
const LATE_MS: i64 = 300;
/// How much earlier: the stamps' millisecond rounding at both ends.
const EARLY_MS: i64 = 3;

/// A `sched_daemon` logging in a fresh directory, with `envs`.
fn sched(tag: &str, envs: &[(&str, &str)]) -> (Reap, PathBuf, TempDir) {
    let dir = TempDir::new(tag);
    let log = dir.path().join("SchedDaemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_sched_daemon"))
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("LOGS_DIRECTORY")
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .env("SD_LOG_DIR", dir.path())
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sched_daemon");
    (Reap(child), log, dir)
}

/// The time stamps (ms since midnight) of `tick 1 start` ... `tick n start`.
fn starts(log: &Path, n: usize) -> Vec<i64> {
    assert!(
        wait_for_line(log, &format!("tick {n} start"), PATIENCE),
        "no tick {n}:\n{}",
        read(log)
    );
    let text = read(log);
    (1..=n)
        .map(|k| {
            let needle = format!(" - tick {k} start");
            let line = text
                .lines()
                .find(|l| l.ends_with(&needle))
                .unwrap_or_else(|| panic!("no `tick {k} start` in:\n{text}"));
            stamp_ms(line).map(|ms| ms as i64).expect("a seed-format stamp")
        })
        .collect()
}

/// Each start relative to the first.
fn offsets(starts: &[i64]) -> Vec<i64> {
    starts.iter().map(|t| t - starts[0]).collect()
}

/// Assert each measured figure is within [expected - EARLY_MS, expected + LATE_MS].
fn assert_near(what: &str, measured: &[i64], expected: &[i64], log: &Path) {
    assert_eq!(measured.len(), expected.len());
    let ok = measured
        .iter()
        .zip(expected)
        .all(|(m, e)| *m >= e - EARLY_MS && *m <= e + LATE_MS);
    assert!(
        ok,
        "{what}: measured {measured:?} ms, expected {expected:?} ms (-{EARLY_MS}/+{LATE_MS})\n{}",
        read(log)
    );
}

fn stop(child: &mut Child) {
    kill(child.id(), libc::SIGTERM);
    let st = exit_within(child, Instant::now(), Duration::from_secs(2));
    assert_eq!(st.code(), Some(0));
}

/// The "Done when": a tick that fails twice retries after 1x then 2x the interval, and
/// a success resets it. Three failures (1x, 2x, 4x), a success (back to the interval), a
/// failure (1x again: the count was reset).
#[test]
fn continue_backs_off_doubling_and_a_success_resets_it() {
    let (mut d, log, _dir) = sched(
        "backoff",
        &[
            ("SC_INTERVAL_MS", "300"),
            ("SC_ON_ERROR", "continue"),
            ("SC_TICKS", "fail,fail,fail,ok,fail,ok"),
        ],
    );
    let s = starts(&log, 7);
    let gaps: Vec<i64> = s.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("backoff gaps (ms): {gaps:?}");
    // When each tick is due: a backoff counts from the failed tick's end (these ticks are
    // quick: its start), a success resumes the grid from the slot the successful tick was due
    // at, so a late start of tick 4 or 6 (a loaded machine) shortens the next gap rather than
    // shifting the grid.
    let steps: [(bool, i64); 6] = [
        (false, 300),
        (false, 600),
        (false, 1200),
        (true, 300),
        (false, 300),
        (true, 300),
    ];
    let mut due = vec![s[0]];
    for (k, (succeeded, wait)) in steps.iter().enumerate() {
        let from = if *succeeded { due[k] } else { s[k] };
        due.push(from + wait);
    }
    assert_near("starts", &offsets(&s), &offsets(&due), &log);
    // The whole sequence: 3000 ms on the schedule.
    let total = s[6] - s[0];
    assert!(
        (3000 - EARLY_MS..=3000 + 2 * LATE_MS).contains(&total),
        "total {total} ms"
    );
    stop(&mut d.0);
    let errors = lines_with(&log, " - ERROR - Tick failed (");
    for e in &errors {
        eprintln!("{e}");
    }
    let expect = [
        (
            "(1 in a row): upstream unavailable at tick 1; next attempt in 0.300s at ",
            1,
        ),
        (
            "(2 in a row): upstream unavailable at tick 2; next attempt in 0.600s at ",
            2,
        ),
        (
            "(3 in a row): upstream unavailable at tick 3; next attempt in 1.200s at ",
            3,
        ),
        (
            "(1 in a row): upstream unavailable at tick 5; next attempt in 0.300s at ",
            5,
        ),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((line, (text, tick)), next) in errors.iter().zip(expect).zip([2, 3, 4, 6]) {
        assert!(line.contains(text), "{line:?} lacks {text:?}");
        // The announced time of the next attempt is when it started.
        let at = line.rsplit(" at ").next().and_then(stamp_ms_of_time);
        let started = s[next - 1];
        let at = at.unwrap_or_else(|| panic!("no time in {line:?}"));
        assert!(
            (at - started).abs() <= 50 + LATE_MS,
            "tick {tick}: announced {at}, started {started}"
        );
    }
}

/// `2026-12-01 21:40:03,123` at the end of a line: ms since midnight.
fn stamp_ms_of_time(s: &str) -> Option<i64> {
    stamp_ms(s).map(|ms| ms as i64)
}

#[test]
fn max_failures_consecutive_errors_end_the_daemon_with_status_1() {
    let (mut d, log, _dir) = sched(
        "maxfail",
        &[
            ("SC_INTERVAL_MS", "50"),
            ("SC_ON_ERROR", "continue"),
            ("SC_MAX_FAILURES", "3"),
            ("SC_TICKS", "fail"),
        ],
    );
    // 50 + 100 ms of backoff, then the third error ends it.
    let st = exit_within(&mut d.0, Instant::now(), Duration::from_secs(5));
    let text = read(&log);
    assert_eq!(st.code(), Some(1), "{text}");
    assert!(
        text.contains("(1 in a row): upstream unavailable at tick 1"),
        "{text}"
    );
    assert!(
        text.contains("(2 in a row): upstream unavailable at tick 2"),
        "{text}"
    );
    assert!(
        text.contains(
            " - ERROR - Tick failed (3 in a row, max_failures = 3): upstream unavailable at tick 3"
        ),
        "{text}"
    );
    assert!(!text.contains("tick 4 start"), "{text}");
}

/// The stop ladder during a backoff: a 30 s backoff sleep ends at once on SIGTERM.
#[test]
fn sigterm_ends_a_backoff_sleep_at_once() {
    let (mut d, log, _dir) = sched(
        "backoff-stop",
        &[
            ("SC_INTERVAL_MS", "30000"),
            ("SC_ON_ERROR", "continue"),
            ("SC_TICKS", "fail"),
        ],
    );
    assert!(
        wait_for_line(&log, "next attempt in 30s", PATIENCE),
        "{}",
        read(&log)
    );
    let sent = Instant::now();
    kill(d.0.id(), libc::SIGTERM);
    let st = exit_within(&mut d.0, sent, Duration::from_secs(1));
    eprintln!(
        "stop during a 30 s backoff: exit {:?} after {:?}",
        st.code(),
        sent.elapsed()
    );
    assert_eq!(st.code(), Some(0));
    assert!(read(&log).contains("Graceful Interrupt..."));
}

/// Tick 1 overruns: 1000 ms against an interval of 400 ms (slots 400 and 800 pass during it).
fn missed(policy: &str, n: usize) -> Vec<i64> {
    let (mut d, log, _dir) = sched(
        &format!("missed-{policy}"),
        &[
            ("SC_INTERVAL_MS", "400"),
            ("SC_MISSED", policy),
            ("SC_TICKS", "sleep:1000,ok"),
        ],
    );
    let s = offsets(&starts(&log, n));
    stop(&mut d.0);
    eprintln!("missed = {policy}: starts at {s:?} ms");
    s
}

#[test]
fn missed_delay_starts_at_once_and_re_anchors() {
    let s = missed("delay", 4);
    assert_near("delay", &s, &[0, 1000, 1400, 1800], Path::new("/dev/null"));
}

#[test]
fn missed_skip_waits_for_the_next_slot_of_the_grid() {
    let s = missed("skip", 4);
    assert_near("skip", &s, &[0, 1200, 1600, 2000], Path::new("/dev/null"));
}

#[test]
fn missed_burst_catches_up_back_to_back() {
    let s = missed("burst", 5);
    assert_near("burst", &s, &[0, 1000, 1000, 1200, 1600], Path::new("/dev/null"));
}

/// Jitter moves each start within [0, jitter) of its slot and never accumulates: start `n`
/// stays within a jitter of `n` intervals after the first.
#[test]
fn jitter_spreads_starts_without_drift() {
    let (mut d, log, _dir) = sched("jitter", &[("SC_INTERVAL_MS", "200"), ("SC_JITTER_MS", "150")]);
    let s = offsets(&starts(&log, 11));
    stop(&mut d.0);
    let off: Vec<i64> = s.iter().enumerate().map(|(k, t)| t - 200 * k as i64).collect();
    eprintln!("jitter offsets from the grid (ms): {off:?}");
    assert!(
        off.iter().all(|o| (-150 - EARLY_MS..150 + LATE_MS).contains(o)),
        "{off:?}"
    );
    let spread = off.iter().max().unwrap_or(&0) - off.iter().min().unwrap_or(&0);
    assert!(
        spread > 20,
        "10 random delays in [0, 150) ms spread more than {spread} ms"
    );
}

/// The `#[daemon(schedule = "30 2 * * *", timezone = "Europe/Berlin")]` binary started at the
/// fake UTC time `start`; returns its log once `wait` (a line) appears or `for_ms` pass.
fn nightly_at(start: &str, wait: Option<&str>, for_ms: u64) -> Option<String> {
    let lib = faketime()?;
    let dir = TempDir::new("nightly");
    let child = Command::new(env!("CARGO_BIN_EXE_nightly_daemon"))
        .current_dir(dir.path())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .env("LD_PRELOAD", lib)
        .env("FAKETIME", format!("@{start}"))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nightly_daemon");
    let mut d = Reap(child);
    let log = dir.path().join("Nightly.log");
    assert!(wait_for_line(&log, "Next run: ", PATIENCE), "{}", read(&log));
    match wait {
        Some(line) => assert!(
            wait_for_line(&log, line, PATIENCE),
            "no {line:?}:\n{}",
            read(&log)
        ),
        None => std::thread::sleep(Duration::from_millis(for_ms)),
    }
    // Whatever would follow the run (a second run, a wrong next run) has time to show.
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut d.0);
    let text = read(&log);
    for l in text
        .lines()
        .filter(|l| l.contains("Next run") || l.contains("nightly run"))
    {
        eprintln!("{l}");
    }
    Some(text)
}

/// The messages of `log`'s lines that name the schedule, in order.
fn schedule_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(" - Next run: ") || l.contains(" - nightly run "))
        .map(|l| format!("{} {}", &l[11..19], l.rsplit(" - ").next().unwrap_or("")))
        .collect()
}

/// Spring forward in Berlin (2026-03-29, 02:00 CET becomes 03:00 CEST): 02:30 does not exist,
/// the run is at 03:00 CEST (01:00 UTC), once, and names the next day's 02:30.
#[test]
fn nightly_runs_once_at_the_jump_on_the_spring_forward_day() {
    let Some(log) = nightly_at("2026-03-29 00:59:57", Some("nightly run 1"), 0) else {
        return;
    };
    assert_eq!(
        schedule_lines(&log),
        [
            "00:59:57 Next run: 2026-03-29 03:00:00 +02:00 (Europe/Berlin)",
            "01:00:00 nightly run 1",
            "01:00:00 Next run: 2026-03-30 02:30:00 +02:00 (Europe/Berlin)",
        ]
    );
}

/// Fall back in Berlin (2026-10-25, 03:00 CEST becomes 02:00 CET): 02:30 happens twice; the
/// run is at the first (02:30 CEST, 00:30 UTC), and the next one is the next day's.
#[test]
fn nightly_runs_once_at_the_first_occurrence_on_the_fall_back_day() {
    let Some(log) = nightly_at("2026-10-25 00:29:57", Some("nightly run 1"), 0) else {
        return;
    };
    assert_eq!(
        schedule_lines(&log),
        [
            "00:29:57 Next run: 2026-10-25 02:30:00 +02:00 (Europe/Berlin)",
            "00:30:00 nightly run 1",
            "00:30:00 Next run: 2026-10-26 02:30:00 +01:00 (Europe/Berlin)",
        ]
    );
    // Started in the repeated hour, just before the second 02:30 (01:30 UTC): no run then.
    let Some(log) = nightly_at("2026-10-25 01:29:57", None, 4000) else {
        return;
    };
    assert_eq!(
        schedule_lines(&log),
        ["01:29:57 Next run: 2026-10-26 02:30:00 +01:00 (Europe/Berlin)"]
    );
}

/// A wall-clock step (an NTP step, a suspend and resume) under libfaketime, whose clock is set
/// anew each time its timestamp file changes (`FAKETIME_TIMESTAMP_FILE`, `FAKETIME_NO_CACHE`):
/// a step forward past a start time runs it once, at once (`missed = "delay"`); a step back
/// over a start time that already ran does not run it again; the next start time is still
/// found after the step back.
#[test]
fn a_wall_clock_step_forward_past_a_run_runs_it_once_and_back_over_it_runs_it_not_again() {
    let Some(lib) = faketime() else {
        return;
    };
    let clock_dir = TempDir::new("step-clock");
    let clock = clock_dir.path().join("faketime");
    let set_clock = |t: &str| std::fs::write(&clock, format!("@2026-06-01 {t}\n")).expect("write the clock");
    set_clock("11:59:50");
    let clock_env = clock.to_string_lossy().into_owned();
    let (mut d, log, _dir) = sched(
        "step",
        &[
            ("LD_PRELOAD", lib),
            ("FAKETIME_TIMESTAMP_FILE", &clock_env),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", "UTC"),
            ("SC_SCHEDULE", "0 * * * *"),
            ("SC_TIMEZONE", "UTC"),
        ],
    );
    let next_12 = "Next run: 2026-06-01 12:00:00 +00:00 (UTC)";
    let next_13 = "Next run: 2026-06-01 13:00:00 +00:00 (UTC)";
    assert!(wait_for_line(&log, next_12, PATIENCE), "{}", read(&log));
    // Forward past 12:00: the run is noticed within the wall-clock step of a second, once.
    let stepped = Instant::now();
    set_clock("12:30:00");
    assert!(wait_for_line(&log, next_13, PATIENCE), "{}", read(&log));
    let noticed = stepped.elapsed();
    assert!(
        noticed < Duration::from_millis(2500),
        "the step forward was noticed after {noticed:?}:\n{}",
        read(&log)
    );
    // Back over 12:00, which already ran: the wall clock reads 12:00:00 again 1 s later; the
    // daemon waits for 13:00 and runs nothing meanwhile.
    set_clock("11:59:59");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(lines_with(&log, " - tick ").len(), 1, "{}", read(&log));
    // The next start is still found after the step back.
    set_clock("12:59:59");
    assert!(wait_for_line(&log, "tick 2 start", PATIENCE), "{}", read(&log));
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut d.0);
    let text = read(&log);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains(" - Next run: ") || l.contains(" - tick "))
        .map(|l| format!("{} {}", &l[11..19], l.rsplit(" - ").next().unwrap_or("")))
        .collect();
    for l in &lines {
        eprintln!("{l}");
    }
    assert_eq!(
        lines,
        [
            "11:59:50 Next run: 2026-06-01 12:00:00 +00:00 (UTC)",
            "12:30:00 tick 1 start",
            "12:30:00 Next run: 2026-06-01 13:00:00 +00:00 (UTC)",
            "13:00:00 tick 2 start",
            "13:00:00 Next run: 2026-06-01 14:00:00 +00:00 (UTC)",
        ],
        "{text}"
    );
}

/// The lines of `log` that name a start time or a tick, as `HH:MM:SS message`.
fn run_lines(log: &Path) -> Vec<String> {
    read(log)
        .lines()
        .filter(|l| l.contains(" - Next run: ") || l.contains(" - tick "))
        .map(|l| format!("{} {}", &l[11..19], l.rsplit(" - ").next().unwrap_or("")))
        .collect()
}

/// `missed = "burst"` catches up the start times a run overran, not those a wall-clock step
/// passed: a step forward of an hour over a cron that fires each minute runs once, as with
/// `delay`, not sixty times back to back.
#[test]
fn burst_does_not_replay_the_start_times_a_wall_clock_step_passed() {
    let Some(lib) = faketime() else {
        return;
    };
    let clock_dir = TempDir::new("burst-step-clock");
    let clock = clock_dir.path().join("faketime");
    let set_clock = |t: &str| std::fs::write(&clock, format!("@2026-06-01 {t}\n")).expect("write the clock");
    set_clock("02:58:58");
    let clock_env = clock.to_string_lossy().into_owned();
    let (mut d, log, _dir) = sched(
        "burst-step",
        &[
            ("LD_PRELOAD", lib),
            ("FAKETIME_TIMESTAMP_FILE", &clock_env),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", "UTC"),
            ("SC_SCHEDULE", "0 * * * * *"),
            ("SC_TIMEZONE", "UTC"),
            ("SC_MISSED", "burst"),
        ],
    );
    assert!(
        wait_for_line(&log, "Next run: 2026-06-01 02:59:00", PATIENCE),
        "{}",
        read(&log)
    );
    set_clock("03:58:30");
    assert!(
        wait_for_line(&log, "Next run: 2026-06-01 03:59:00", PATIENCE),
        "{}",
        read(&log)
    );
    // Time for a replay of the other 59 to show.
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut d.0);
    let lines = run_lines(&log);
    for l in &lines {
        eprintln!("{l}");
    }
    assert_eq!(
        lines,
        [
            "02:58:58 Next run: 2026-06-01 02:59:00 +00:00 (UTC)",
            "03:58:30 tick 1 start",
            "03:58:30 Next run: 2026-06-01 03:59:00 +00:00 (UTC)",
        ],
        "{}",
        read(&log)
    );
}

/// Fall back in local time (`TZ=Europe/Berlin`, no `timezone` key): 02:30 happens twice on
/// 2026-10-25 and runs at its first occurrence (02:30 CEST, 00:30 UTC), once. chrono gives
/// `Local`'s two readings latest first, which once made this run an hour late.
#[test]
fn a_local_time_schedule_runs_at_the_first_of_a_repeated_time() {
    let Some(lib) = faketime() else {
        return;
    };
    // libfaketime reads an absolute `@...` in local time, ambiguous on this day: an offset
    // from now to 2026-10-25 00:29:57 UTC instead.
    const START_UTC: i64 = 1_792_888_197;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let offset = format!("{:+}", START_UTC - now);
    let (mut d, log, _dir) = sched(
        "local-fall-back",
        &[
            ("LD_PRELOAD", lib),
            ("FAKETIME", &offset),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", "Europe/Berlin"),
            ("SC_SCHEDULE", "30 2 * * *"),
        ],
    );
    assert!(wait_for_line(&log, "tick 1 start", PATIENCE), "{}", read(&log));
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut d.0);
    let lines = run_lines(&log);
    for l in &lines {
        eprintln!("{l}");
    }
    // The log's time stamps are local time too.
    assert_eq!(
        lines,
        [
            "02:29:57 Next run: 2026-10-25 02:30:00 +02:00 (local time)",
            "02:30:00 tick 1 start",
            "02:30:00 Next run: 2026-10-26 02:30:00 +01:00 (local time)",
        ],
        "{}",
        read(&log)
    );
}
