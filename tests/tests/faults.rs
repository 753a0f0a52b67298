//! Faults on real processes: signal storms under heavy logging, and lifecycle races.
//!
//! Every wait is on an observable event (a log line, a counter, the child's exit) bounded by
//! [`PATIENCE`]; nothing asserts on timing. Each test adds a row to the fault table printed in
//! its output (`FAULT | ...`, visible with `--nocapture`) and kept in `target/fault-summary.md`.

mod fault_common;

use fault_common::{
    account, audit, count, flooding, record, record_asserted, spawn, storm, storm_of, tail, NotifyPeer, NAME,
    STORM,
};
use simple_daemon_tests::{position, read, wait_until, TempDir, PATIENCE};

const SIGHUP: i32 = libc::SIGHUP;
const SIGINT: i32 = libc::SIGINT;
const SIGTERM: i32 = libc::SIGTERM;

fn storm_stops_once(tag: &str, mode: &str, buffered: bool, fault: &str) {
    let mut envs = vec![("FD_MODE", mode)];
    if buffered {
        envs.push(("FD_BUFFERED", "1"));
    }
    let (mut fd, ctr) = flooding(tag, &envs);
    let sent = storm(fd.pid(), "INT,TERM,HUP");
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "stderr: {err}\n{}", tail(&log));
    assert_eq!(count(&log, "Graceful Interrupt..."), 1, "{}", tail(&log));
    if mode == "passive" {
        assert_eq!(count(&log, "interrupted == True"), 1, "{}", tail(&log));
        assert!(count(&log, "Second stop signal") <= 1, "{}", tail(&log));
    }
    assert_eq!(count(&log, "panicked"), 0, "{}", tail(&log));
    // The stop sequence ends the run: no stop line after `Graceful Interrupt...` (other
    // threads' lines may follow it until the process ends, `on_stop`'s too when a second
    // signal escalated the stop while it ran; they are counted like the others).
    let after = &log[log.find("Graceful Interrupt...").unwrap_or(0)..];
    for needle in ["interrupted == True", "Second stop signal"] {
        assert!(!after.contains(needle), "{needle} after the end:\n{}", tail(&log));
    }
    if mode == "aggressive" {
        // No user code runs on an aggressive stop, however the signals race the tick loop.
        assert_eq!(count(&log, "on_stop ran"), 0, "{}", tail(&log));
    }
    let (written, found) = account(&log, &ctr);
    record(
        fault,
        sent,
        written,
        found,
        "one stop sequence, exit 0, every line intact",
    );
}

#[test]
fn a_storm_of_10000_int_term_hup_under_heavy_logging_stops_once_passive() {
    storm_stops_once(
        "storm-passive",
        "passive",
        false,
        "signal storm INT/TERM/HUP, passive, 4 senders, 4 flood threads",
    );
}

#[test]
fn a_storm_of_10000_int_term_hup_under_heavy_logging_stops_once_aggressive() {
    storm_stops_once(
        "storm-aggressive",
        "aggressive",
        false,
        "signal storm INT/TERM/HUP, aggressive, 4 senders, 4 flood threads",
    );
}

#[test]
fn a_storm_on_a_buffered_logger_loses_no_returned_line_passive() {
    storm_stops_once(
        "storm-buf-passive",
        "passive",
        true,
        "signal storm INT/TERM/HUP, passive, buffered logging",
    );
}

#[test]
fn a_storm_on_a_buffered_logger_loses_no_returned_line_aggressive() {
    storm_stops_once(
        "storm-buf-aggressive",
        "aggressive",
        true,
        "signal storm INT/TERM/HUP, aggressive, buffered logging",
    );
}

#[test]
fn a_hup_storm_never_stops_the_daemon_nor_loses_a_line_across_reopens() {
    // logrotate's way, five times over: move the log away, then a burst of 2,000 HUPs (four
    // senders at full speed); the daemon re-opens a new file at the path. Every flood line must
    // be in one of the files, in order per thread.
    let (mut fd, ctr) = flooding("storm-hup", &[]);
    let mut files = Vec::new();
    let mut sent = 0;
    for wave in 0..5 {
        let moved = fd.dir.path().join(format!("moved.{wave}"));
        std::fs::rename(&fd.log, &moved).expect("move the log away");
        files.push(moved);
        sent += storm_of(fd.pid(), "HUP", STORM / 5);
        assert!(
            fd.alive(),
            "the HUP storm stopped the daemon:\n{}",
            tail(&read(&fd.log))
        );
        // The re-open made a new file at the path, and the daemon still logs into it (flood
        // lines, or once the flood threads are done, the ticks).
        assert!(
            wait_until(PATIENCE, || {
                let l = read(&fd.log);
                l.contains("flood t=") || l.contains("tick ")
            }),
            "no new log file after the HUPs of wave {wave}"
        );
        // The wave's HUPs were acted on before the next wave: the file sink follows a moved
        // file by itself, so the new file alone does not say so, and HUPs still pending when
        // the next wave comes would merge with it (a signal is pending once).
        let heard = |files: &[std::path::PathBuf]| {
            files
                .iter()
                .chain([&fd.log])
                .map(|f| count(&read(f), "Received 1 signal."))
                .sum::<usize>()
        };
        assert!(
            wait_until(PATIENCE, || heard(&files) > wave),
            "the HUPs of wave {wave} were not acted on"
        );
    }
    // The signal thread survived the storm: one more reload.
    let reloads = count(&read(&fd.log), "on_reload ran");
    fd.signal(SIGHUP);
    assert!(
        wait_until(PATIENCE, || count(&read(&fd.log), "on_reload ran") > reloads),
        "no reload after the storm"
    );
    fd.signal(SIGTERM);
    let (code, last, err) = fd.exit();
    assert_eq!(code, 0, "stderr: {err}\n{}", tail(&last));
    let mut log: String = files.iter().map(|f| read(f)).collect();
    log.push_str(&last);
    let stop_lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("flood t="))
        .skip_while(|l| !l.contains("on_reload ran"))
        .collect();
    let stop_lines = stop_lines[stop_lines.len().saturating_sub(30)..].join("\n");
    assert_eq!(count(&log, "Graceful Interrupt..."), 1, "{stop_lines}");
    assert_eq!(count(&log, "interrupted == True"), 1, "{stop_lines}");
    assert_eq!(count(&log, "Second stop signal"), 0, "{stop_lines}");
    let received = count(&log, "Received 1 signal.") as u64;
    assert!(received >= 5 && received <= sent + 1, "{received} HUPs logged");
    let (written, found) = account(&log, &ctr);
    // A clean passive stop joins the flood threads: each says how many lines it wrote.
    let a = audit(&log);
    for (t, &n) in &a.flood {
        assert!(
            log.contains(&format!("flood t={t} wrote {n}\n")),
            "thread {t}: {n} lines found, its own count differs:\n{}",
            tail(&log)
        );
    }
    assert_eq!(written, found);
    record(
        "HUP storm, 5 bursts, log moved away before each, 4 flood threads",
        sent,
        written,
        found,
        &format!("kept running, {received} re-opens, 6 files, exit 0 on SIGTERM"),
    );
}

fn before(log: &str, a: &str, b: &str) {
    let (pa, pb) = (position(log, a), position(log, b));
    assert!(
        pa.is_some() && pb.is_some() && pa < pb,
        "expected {a:?} before {b:?} in:\n{}",
        tail(log)
    );
}

fn absent(log: &str, needle: &str) {
    assert!(!log.contains(needle), "unexpected {needle:?} in:\n{}", tail(log));
}

/// Lines before the stop are all there: the whole log is in the format.
fn intact(log: &str) -> u64 {
    let a = audit(log);
    assert!(a.bad.is_empty(), "lines not in the format: {:?}", a.bad);
    a.lines as u64
}

#[test]
fn a_stop_signal_during_a_slow_new_before_ready_stops_without_a_tick() {
    let dir = TempDir::new("startup-signal");
    let peer = NotifyPeer::bind(dir.path());
    let sock = peer.path.to_string_lossy().into_owned();
    let mut fd = fault_common::spawn_in(
        dir,
        &[("FD_NEW_MS", "60000"), ("NOTIFY_SOCKET", sock.as_str())],
        false,
    );
    fd.wait_line("new started");
    let before_ready = peer.drain();
    assert!(
        !before_ready.iter().any(|m| m.contains("READY=1")),
        "READY=1 before new() returned: {before_ready:?}"
    );
    // Passive: new() cannot be interrupted, so the second signal is what ends a 60 s new().
    fd.signal(SIGTERM);
    fd.wait_line("Received 15 signal.");
    fd.signal(SIGTERM);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(&log, "new started", "Received 15 signal.");
    before(&log, "Second stop signal (15)", "Graceful Interrupt...");
    absent(&log, "new done");
    absent(&log, "tick 1 start");
    assert_eq!(count(&log, "Graceful Interrupt..."), 1);
    let msgs = peer.drain();
    assert!(
        !msgs.iter().any(|m| m.contains("READY=1")),
        "READY=1 sent although new() never returned: {msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("STOPPING=1")), "{msgs:?}");
    let lines = intact(&log);
    record_asserted(
        "SIGTERM x2 during a 60 s new(), before READY",
        2,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "no tick, no READY=1, STOPPING=1, exit 0",
    );
}

#[test]
fn a_stop_signal_during_a_short_new_lets_it_finish_and_runs_no_tick() {
    let dir = TempDir::new("startup-signal-short");
    let flag = dir.path().join("go");
    let flag_s = flag.to_string_lossy().into_owned();
    let mut fd = fault_common::spawn_in(dir, &[("FD_NEW_WAIT", flag_s.as_str())], false);
    fd.wait_line("new started");
    fd.signal(SIGINT);
    fd.wait_line("Received 2 signal.");
    std::fs::write(&flag, "").expect("let new() return");
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(&log, "Received 2 signal.", "on_stop ran");
    before(&log, "new done", "on_stop ran");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    absent(&log, "tick 1 start");
    let lines = intact(&log);
    record_asserted(
        "SIGINT during new() (passive)",
        1,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "new() ends, no tick, on_stop, exit 0",
    );
}

#[test]
fn an_aggressive_stop_during_a_slow_new_exits_at_once() {
    let mut fd = spawn(
        "startup-aggr",
        &[("FD_NEW_MS", "60000"), ("FD_MODE", "aggressive")],
        false,
    );
    fd.wait_line("new started");
    fd.signal(SIGTERM);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(&log, "Received 15 signal.", "Graceful Interrupt...");
    absent(&log, "new done");
    let lines = intact(&log);
    record_asserted(
        "SIGTERM during a 60 s new() (aggressive)",
        1,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "exit 0 at once",
    );
}

fn stop_during_reload(mode: &str) {
    let mut fd = spawn(
        &format!("reload-stop-{mode}"),
        &[
            ("FD_INTERVAL_MS", "60000"),
            ("FD_RELOAD_MS", "1500"),
            ("FD_MODE", mode),
        ],
        true,
    );
    fd.wait_line("tick 1 end");
    fd.signal(SIGHUP);
    fd.wait_line("on_reload ran");
    fd.signal(SIGTERM);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    absent(&log, "tick 2 start");
    assert_eq!(count(&log, "Graceful Interrupt..."), 1);
    if mode == "passive" {
        // The reload in progress ends, then the stop: on_stop, no new tick.
        before(&log, "on_reload ran", "Received 15 signal.");
        before(&log, "Received 15 signal.", "on_reload done");
        before(&log, "on_reload done", "on_stop ran");
        before(&log, "on_stop ran", "Graceful Interrupt...");
    } else {
        absent(&log, "on_reload done");
        absent(&log, "on_stop ran");
    }
    let lines = intact(&log);
    record_asserted(
        &format!("SIGTERM while on_reload runs ({mode})"),
        2,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        if mode == "passive" {
            "reload finishes, on_stop, exit 0"
        } else {
            "exit 0 at once, reload cut"
        },
    );
}

#[test]
fn a_stop_while_on_reload_runs_waits_for_it_when_passive() {
    stop_during_reload("passive");
}

#[test]
fn a_stop_while_on_reload_runs_cuts_it_when_aggressive() {
    stop_during_reload("aggressive");
}

#[test]
fn sighup_during_a_passive_stop_neither_escalates_nor_reloads() {
    let dir = TempDir::new("hup-in-stop");
    let flag = dir.path().join("go");
    let tick = format!("wait:{}", flag.display());
    let mut fd = fault_common::spawn_in(dir, &[("FD_TICK", tick.as_str())], true);
    fd.wait_line("tick 1 start");
    fd.signal(SIGTERM);
    fd.wait_line("Received 15 signal.");
    fd.signal(SIGHUP);
    fd.wait_line("Received 1 signal.");
    std::fs::write(&flag, "").expect("release the tick");
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(&log, "Received 1 signal.", "tick 1 end");
    before(&log, "tick 1 end", "on_stop ran");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    absent(&log, "Second stop signal");
    absent(&log, "on_reload ran");
    absent(&log, "tick 2 start");
    let lines = intact(&log);
    record_asserted(
        "SIGHUP during a passive stop",
        2,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "no escalation, no reload, on_stop, exit 0",
    );
}

#[test]
fn a_panic_in_on_reload_is_logged_and_exits_101() {
    let mut fd = spawn(
        "reload-panic",
        &[("FD_INTERVAL_MS", "60000"), ("FD_RELOAD_PANIC", "1")],
        true,
    );
    fd.wait_line("tick 1 end");
    fd.signal(SIGHUP);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 101, "{err}\n{log}");
    before(
        &log,
        "on_reload ran",
        &format!("{NAME} - ERROR - thread 'main' panicked at tests/src/bin/fault_daemon.rs:"),
    );
    before(
        &log,
        "panicked at",
        "on_reload could not parse the new configuration",
    );
    absent(&log, "Graceful Interrupt...");
    record(
        "panic inside on_reload",
        1,
        1,
        count(&log, "on_reload could not parse") as u64,
        "logged with location, exit 101",
    );
}

#[test]
fn a_tick_that_never_returns_leaves_only_the_second_signal_as_a_way_out() {
    let mut fd = spawn("forever", &[("FD_TICK", "forever")], true);
    fd.wait_line("tick 1 beat 0");
    fd.signal(SIGTERM);
    fd.wait_line("Received 15 signal.");
    // Proof that nothing else ends it: 25 more beats (the tick still runs), and still no end.
    let beats_after_stop = |log: &str| {
        let from = position(log, "Received 15 signal.").unwrap_or(usize::MAX);
        log.lines()
            .skip(from)
            .filter(|l| l.contains("tick 1 beat"))
            .count()
    };
    assert!(
        wait_until(PATIENCE, || beats_after_stop(&read(&fd.log)) >= 25),
        "the tick stopped beating:\n{}",
        tail(&read(&fd.log))
    );
    assert!(fd.alive(), "the daemon ended without a second signal");
    absent(&read(&fd.log), "Graceful Interrupt...");
    fd.signal(SIGINT);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(
        &log,
        "Received 2 signal.",
        "WARN - Second stop signal (2): stopping at once",
    );
    before(&log, "Second stop signal", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
    absent(&log, "on_stop ran");
    assert_eq!(count(&log, "Graceful Interrupt..."), 1);
    let lines = intact(&log);
    record_asserted(
        "tick never returns, passive, no stop_timeout",
        2,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "runs on after 1st signal; 2nd signal: exit 0",
    );
}

#[test]
fn a_tick_that_never_returns_is_ended_by_stop_timeout() {
    let mut fd = spawn(
        "forever-timeout",
        &[("FD_TICK", "forever"), ("FD_STOP_TIMEOUT_MS", "300")],
        true,
    );
    fd.wait_line("tick 1 beat 0");
    fd.signal(SIGTERM);
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    before(
        &log,
        "Received 15 signal.",
        "WARN - stop_timeout of 300ms elapsed",
    );
    before(&log, "stop_timeout of 300ms elapsed", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
    let lines = intact(&log);
    record_asserted(
        "tick never returns, passive, stop_timeout 300ms",
        1,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "escalated by the timer, exit 0",
    );
}

#[test]
fn a_huge_stop_timeout_does_not_overflow() {
    let dir = TempDir::new("huge-timeout");
    let flag = dir.path().join("go");
    let tick = format!("wait:{}", flag.display());
    let mut fd = fault_common::spawn_in(
        dir,
        &[("FD_TICK", tick.as_str()), ("FD_STOP_TIMEOUT_MS", "max")],
        true,
    );
    fd.wait_line("tick 1 start");
    fd.signal(SIGTERM);
    fd.wait_line("Received 15 signal.");
    std::fs::write(&flag, "").expect("release the tick");
    let (code, log, err) = fd.exit();
    assert_eq!(code, 0, "{err}\n{log}");
    absent(&log, "panicked");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    let lines = intact(&log);
    record_asserted(
        "stop_timeout = Duration::MAX, passive stop",
        1,
        Some(lines),
        "every line whole and in the format, the stop's lines in order",
        "no overflow, exit 0",
    );
}
