//! The stop ladder of DESIGN.md, on real processes with real signals.
//!
//! Every wait is on an observable event (a log line, the child's exit) bounded by
//! [`PATIENCE`] (20 s); where a test proves "at once", the thing it must not wait for is a 60 s
//! sleep, so a daemon that waited would fail the bound without any timing assertion.

use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use simple_daemon_tests::Spawned as Daemon;
use simple_daemon_tests::{
    exit_within, kill, position, read, wait_exit, wait_for_line, Reap, TempDir, AT_ONCE, PATIENCE,
};

const SIGHUP: i32 = libc::SIGHUP;
const SIGINT: i32 = libc::SIGINT;
const SIGTERM: i32 = libc::SIGTERM;

fn start(tag: &str, envs: &[(&str, &str)]) -> Daemon {
    let dir = TempDir::new(tag);
    let log = dir.path().join("RtDaemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_rt_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rt_daemon");
    let d = Daemon::new(child, log, dir);
    assert!(
        wait_for_line(&d.log, "Mode: ", PATIENCE),
        "no start lines:\n{}",
        read(&d.log)
    );
    d
}

fn before(log: &str, a: &str, b: &str) {
    let (pa, pb) = (position(log, a), position(log, b));
    assert!(
        pa.is_some() && pb.is_some() && pa < pb,
        "expected {a:?} before {b:?} in:\n{log}"
    );
}

fn absent(log: &str, needle: &str) {
    assert!(!log.contains(needle), "unexpected {needle:?} in:\n{log}");
}

#[test]
fn start_lines_keep_the_seeds_wording() {
    let d = start("start", &[("SD_INTERVAL_MS", "60000")]);
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0);
    for (i, needle) in [
        " - RtDaemon - INFO - PID: ",
        " - RtDaemon - DEBUG - Set signal handler: 2",
        " - RtDaemon - DEBUG - Set signal handler: 15",
    ]
    .iter()
    .enumerate()
    {
        let line = log.lines().nth(i).unwrap_or_default();
        assert!(line.contains(needle), "line {i} is {line:?}, expected {needle:?}");
    }
    before(
        &log,
        "Set signal handler: 15",
        " - RtDaemon - INFO - Mode: PASSIVE",
    );
    before(&log, "Mode: PASSIVE", "tick 1 start");
    // 2018-11-27 13:47:59,971: comma before milliseconds.
    let first = log.lines().next().unwrap_or_default();
    assert_eq!(
        first.as_bytes().get(19),
        Some(&b','),
        "seed time stamp in {first:?}"
    );
}

#[test]
fn passive_stop_cuts_the_interval_sleep_at_once() {
    let d = start("passive-sleep", &[("SD_INTERVAL_MS", "60000")]);
    d.wait_line("tick 1 end");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "tick 1 end", "interrupted == True");
    before(&log, "interrupted == True", "Received 15 signal.");
    before(&log, "Received 15 signal.", "on_stop ran");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    absent(&log, "tick 2 start");
}

#[test]
fn passive_stop_lets_the_tick_in_progress_finish_and_starts_no_other() {
    let d = start("passive-tick", &[("SD_TICK", "sleep:1500")]);
    d.wait_line("tick 1 start");
    d.signal(SIGINT);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "Received 2 signal.", "tick 1 end");
    before(&log, "tick 1 end", "on_stop ran");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    absent(&log, "tick 2 start");
}

#[test]
fn passive_stop_cuts_a_context_sleep_inside_the_tick() {
    let d = start("passive-ctx", &[("SD_TICK", "ctx_sleep")]);
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "Received 15 signal.", "tick 1 end");
    before(&log, "tick 1 end", "Graceful Interrupt...");
}

fn aggressive_stop_with_tick(tick: &str) {
    let d = start(
        &format!("aggr-{tick}"),
        &[("SD_MODE", "aggressive"), ("SD_TICK", tick)],
    );
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_at_once(SIGTERM);
    assert_eq!(code, 0, "{log}");
    before(&log, "Mode: AGGRESSIVE", "Received 15 signal.");
    before(&log, "Received 15 signal.", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
    absent(&log, "on_stop ran");
    assert!(
        log.ends_with("Graceful Interrupt...\n"),
        "Graceful Interrupt... must be the last line:\n{log}"
    );
}

#[test]
fn aggressive_stop_does_not_wait_for_a_tick_sleeping_60s() {
    aggressive_stop_with_tick("block");
}

#[test]
fn aggressive_stop_does_not_wait_for_a_tick_blocked_on_a_lock() {
    aggressive_stop_with_tick("lock");
}

#[test]
fn aggressive_stop_does_not_wait_for_a_tick_blocked_in_a_read() {
    aggressive_stop_with_tick("read");
}

#[test]
fn second_signal_escalates_a_slow_passive_stop() {
    let d = start("escalate-signal", &[("SD_TICK", "block")]);
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    d.wait_line("Received 15 signal.");
    let (code, log) = d.stop_at_once(SIGINT);
    assert_eq!(code, 0, "{log}");
    before(
        &log,
        "Received 2 signal.",
        "WARN - Second stop signal (2): stopping at once",
    );
    before(&log, "Second stop signal", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
    absent(&log, "on_stop ran");
}

#[test]
fn stop_timeout_escalates_a_slow_passive_stop() {
    let d = start(
        "escalate-timeout",
        &[("SD_TICK", "block"), ("SD_STOP_TIMEOUT_MS", "300")],
    );
    d.wait_line("tick 1 start");
    let sent = Instant::now();
    d.signal(SIGTERM);
    let mut d = d;
    let st = exit_within(&mut d.child.0, sent, AT_ONCE + Duration::from_millis(300));
    let (code, log) = (st.code().unwrap_or(-1), read(&d.log));
    assert_eq!(code, 0, "{log}");
    before(
        &log,
        "Received 15 signal.",
        "WARN - stop_timeout of 300ms elapsed",
    );
    before(&log, "stop_timeout of 300ms elapsed", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
}

#[test]
fn stop_timeout_does_not_fire_when_the_tick_ends_in_time() {
    let d = start(
        "timeout-unused",
        &[("SD_TICK", "sleep:200"), ("SD_STOP_TIMEOUT_MS", "30000")],
    );
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "on_stop ran", "Graceful Interrupt...");
    absent(&log, "WARN");
}

#[test]
fn sighup_runs_on_reload_between_ticks_and_keeps_running() {
    let d = start("reload", &[("SD_TICK", "sleep:300")]);
    d.wait_line("tick 1 start");
    d.signal(SIGHUP);
    d.wait_line("on_reload ran");
    d.wait_line("tick 3 end");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    // Between ticks: the line before `on_reload ran` ends a tick, the line after starts one.
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("tick ") || l.contains("on_reload"))
        .collect();
    let i = lines
        .iter()
        .position(|l| l.contains("on_reload ran"))
        .expect("reload line");
    assert!(
        lines[i - 1].contains(" end"),
        "on_reload ran during a tick:\n{log}"
    );
    assert!(
        lines.get(i + 1).is_none_or(|l| l.contains(" start")),
        "on_reload ran during a tick:\n{log}"
    );
}

#[test]
fn sighup_during_the_interval_sleep_runs_on_reload_at_once() {
    let d = start("reload-sleep", &[("SD_INTERVAL_MS", "60000")]);
    d.wait_line("tick 1 end");
    d.signal(SIGHUP);
    d.wait_line("on_reload ran");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    absent(&log, "tick 2 start");
}

#[test]
fn a_tick_error_is_logged_and_exits_1() {
    let d = start("tick-error", &[("SD_TICK", "error:2")]);
    let (code, log) = d.exit();
    assert_eq!(code, 1, "{log}");
    before(
        &log,
        "tick 1 end",
        "ERROR - Tick failed: tick 2 could not reach the upstream",
    );
    absent(&log, "Graceful Interrupt...");
}

#[test]
fn a_panic_is_logged_with_its_location_and_exits_101() {
    let d = start("panic", &[("SD_TICK", "panic:2")]);
    let (code, log) = d.exit();
    assert_eq!(code, 101, "{log}");
    before(
        &log,
        "tick 1 end",
        "ERROR - thread 'main' panicked at tests/src/bin/rt_daemon.rs:",
    );
    before(&log, "panicked at", "tick 2 found the queue corrupted");
}

#[test]
fn a_panic_in_on_stop_is_logged_and_exits_101() {
    let d = start(
        "panic-stop",
        &[("SD_INTERVAL_MS", "60000"), ("SD_STOP_PANIC", "1")],
    );
    d.wait_line("tick 1 end");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 101, "{log}");
    before(&log, "on_stop ran", "on_stop failed to close the connection");
}

#[test]
fn a_failing_new_is_logged_and_exits_1() {
    let d = start("new-error", &[("SD_NEW", "error")]);
    let (code, log) = d.exit();
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("ERROR - Start-up failed: cannot connect to the database at db:5432"),
        "{log}"
    );
    absent(&log, "tick 1 start");
}

#[test]
fn guard_passive_stop_cuts_the_sleep_and_logs_graceful_interrupt() {
    let d = start("guard-passive", &[("SD_FORM", "guard")]);
    d.wait_line("tick 1 end");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "interrupted == True", "Received 15 signal.");
    before(&log, "Received 15 signal.", "Graceful Interrupt...");
    absent(&log, "tick 2 start");
}

#[test]
fn guard_sleeps_on_two_threads_do_not_wait_for_each_other() {
    // Another thread sleeps 60 s on the same guard: the loop's 20 ms sleeps must not queue
    // behind it (the guard is `Sync`).
    let d = start(
        "guard-threads",
        &[
            ("SD_FORM", "guard"),
            ("SD_INTERVAL_MS", "20"),
            ("SD_GUARD_BG_SLEEP", "1"),
        ],
    );
    d.wait_line("tick 3 end");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    before(&log, "Received 15 signal.", "Graceful Interrupt...");
}

#[test]
fn guard_aggressive_stop_ends_a_blocked_loop() {
    let d = start(
        "guard-aggr",
        &[
            ("SD_FORM", "guard"),
            ("SD_MODE", "aggressive"),
            ("SD_TICK", "block"),
        ],
    );
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_at_once(SIGINT);
    assert_eq!(code, 0, "{log}");
    before(&log, "Received 2 signal.", "Graceful Interrupt...");
    absent(&log, "tick 1 end");
}

#[test]
fn an_unusable_log_path_exits_78_with_one_sentence() {
    let dir = TempDir::new("config");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_rt_daemon"))
        .env("SD_LOG_DIR", file.join("logs"))
        .output()
        .expect("run rt_daemon");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one sentence: {err:?}");
    assert!(err.contains("log_path") && err.contains("not-a-dir"), "{err}");
}

/// Whether a pipe is full: its write end does not poll writable.
fn full(writer: &impl std::os::fd::AsRawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd: writer.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid `pollfd` for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, 0) == 0 }
}

#[test]
fn a_passive_stop_ends_even_when_stdout_is_a_full_pipe() {
    use std::io::Write;
    // The end of a passive stop cannot be escalated any more, so it must not wait for ever on
    // a sink nobody drains (a paused `| less`); the file still gets every line.
    let dir = TempDir::new("full-stdout");
    let log = dir.path().join("RtDaemon.log");
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut child = Reap(
        Command::new(env!("CARGO_BIN_EXE_rt_daemon"))
            .env("SD_LOG_DIR", dir.path())
            .env("SD_STREAM", "1")
            .env("SD_INTERVAL_MS", "60000")
            .env("SD_QUIET_HOOKS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer.try_clone().expect("dup")))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rt_daemon"),
    );
    assert!(wait_for_line(&log, "tick 1 end", PATIENCE), "{}", read(&log));
    // Fill the pipe from here (the writer blocks once it is full; it ends when `reader` drops).
    let probe = writer.try_clone().expect("dup");
    let mut w = writer;
    std::thread::spawn(move || {
        let _ = w.write_all(&vec![b'x'; 1 << 20]);
    });
    assert!(
        simple_daemon_tests::wait_until(PATIENCE, || full(&probe)),
        "the pipe never filled"
    );
    kill(child.0.id(), SIGTERM);
    let code = wait_exit(&mut child.0, PATIENCE).code();
    let log = read(&log);
    assert_eq!(code, Some(0), "{log}");
    before(&log, "interrupted == True", "Graceful Interrupt...");
    drop(reader);
}

#[test]
fn after_the_guard_is_dropped_a_signal_gets_its_default_action() {
    use std::os::unix::process::ExitStatusExt;
    let d = start(
        "guard-done",
        &[
            ("SD_FORM", "guard"),
            ("SD_GUARD_TICKS", "1"),
            ("SD_INTERVAL_MS", "10"),
        ],
    );
    d.wait_line("Graceful Interrupt...");
    d.signal(SIGTERM);
    let mut d = d;
    let st = wait_exit(&mut d.child.0, PATIENCE);
    assert_eq!(
        st.signal(),
        Some(SIGTERM),
        "the program after the daemon must die of SIGTERM: {st:?}"
    );
}

#[test]
fn a_non_blocking_stdout_loses_no_line() {
    use std::io::{BufRead, BufReader};
    use std::os::fd::AsRawFd;
    // A daemon may inherit a non-blocking fd 1; a full pipe then answers EAGAIN, which must
    // mean "wait", never "drop the rest of the line".
    let dir = TempDir::new("nonblocking-stdout");
    let log = dir.path().join("RtDaemon.log");
    let (reader, writer) = std::io::pipe().expect("pipe");
    // SAFETY: F_GETFL/F_SETFL on a descriptor this test owns.
    unsafe {
        let fl = libc::fcntl(writer.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut child = Reap(
        Command::new(env!("CARGO_BIN_EXE_rt_daemon"))
            .env("SD_LOG_DIR", dir.path())
            .env("SD_STREAM", "1")
            .env("SD_INTERVAL_MS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rt_daemon"),
    );
    // Read slowly, so the pipe is full again and again while the daemon ticks back to back.
    let slow = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if lines.len() % 1000 == 0 {
                // ~3 lines of ~70 bytes a millisecond meanwhile: twice what the pipe holds.
                std::thread::sleep(std::time::Duration::from_millis(600));
            }
            lines.push(line);
        }
        lines
    });
    assert!(
        wait_for_line(&log, "tick 1500 end", PATIENCE),
        "the daemon did not tick"
    );
    kill(child.0.id(), SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let out = slow.join().expect("reader");
    let file: Vec<String> = [log.with_extension("log.2"), log.with_extension("log.1"), log]
        .iter()
        .flat_map(|p| read(p).lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        out.len(),
        file.len(),
        "stdout has {} lines, the file {}",
        out.len(),
        file.len()
    );
    // Each sink has its own lock, so a line of the signal thread can pass a tick's line in one
    // sink and not in the other: the same lines, and each thread's in its order.
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    assert!(sorted(&out) == sorted(&file), "stdout and the file differ");
    let ticks = |v: &[String]| {
        v.iter()
            .filter(|l| l.contains(" - tick "))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        ticks(&out) == ticks(&file),
        "the ticks' lines are not in one order"
    );
}
