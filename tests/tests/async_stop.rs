//! The stop ladder of an async daemon (feature `tokio`), on real processes with real signals:
//! `async_daemon` (src/bin/async_daemon.rs) run by `run_tokio`, or by `run_async` inside its
//! own runtime.
//!
//! Every wait is on an observable event (a log line, the child's exit) bounded by
//! [`PATIENCE`]; where a test proves "at once", what it must not wait for is a 60 s sleep or a
//! 1 h `spawn_blocking`, so a daemon that waited would fail the bound by far.

mod fault_common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fault_common::storm;
use simple_daemon_tests::Spawned as Daemon;
use simple_daemon_tests::{position, stamp_ms, TempDir, AT_ONCE};

const SIGHUP: i32 = libc::SIGHUP;
const SIGINT: i32 = libc::SIGINT;
const SIGTERM: i32 = libc::SIGTERM;

/// The bound on a stop whose tick is blocked outside an `.await`: the 500 ms the lifecycle
/// waits for the cancellation, plus [`AT_ONCE`] of slack.
const BLOCKED: Duration = Duration::from_millis(1500);

fn start(tag: &str, envs: &[(&str, &str)]) -> Daemon {
    let dir = TempDir::new(tag);
    let log = dir.path().join("AsyncDaemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_async_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn async_daemon");
    let d = Daemon::new(child, log, dir);
    d.wait_line("Mode: ");
    d
}

/// `a`, `b`, ... each appear, in this order.
fn in_order(log: &str, needles: &[&str]) {
    let at: Vec<Option<usize>> = needles.iter().map(|n| position(log, n)).collect();
    assert!(
        at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
        "expected {needles:?} in this order in:\n{log}"
    );
}

fn absent(log: &str, needle: &str) {
    assert!(!log.contains(needle), "unexpected {needle:?} in:\n{log}");
}

/// The last line is the seed's.
fn ends_gracefully(log: &str) {
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" - INFO - Graceful Interrupt..."),
        "last line {last:?} in:\n{log}"
    );
    assert_eq!(
        lines_with_in(log, "Graceful Interrupt..."),
        1,
        "one end in:\n{log}"
    );
}

fn lines_with_in(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

const CANCEL_WARN: &str = "the tick could not be cancelled";

#[test]
fn aggressive_cancels_the_tick_at_its_await_dropping_its_locals_then_the_state() {
    for sig in [SIGTERM, SIGINT] {
        let d = start("agg-await", &[("SD_MODE", "aggressive"), ("SD_TICK", "await")]);
        d.wait_line("tick 1 start");
        let (code, log) = d.stop_within(sig, AT_ONCE);
        assert_eq!(code, 0, "{log}");
        in_order(
            &log,
            &[
                &format!("Received {sig} signal."),
                "tick local dropped",
                "state dropped",
                "state field dropped",
                "Graceful Interrupt...",
            ],
        );
        absent(&log, "on_stop ran");
        absent(&log, "tick 1 end");
        absent(&log, "interrupted == True");
        absent(&log, CANCEL_WARN);
        ends_gracefully(&log);
    }
}

#[test]
fn aggressive_with_the_tick_blocked_in_sync_code_ends_within_a_second_with_a_warning() {
    let d = start("agg-block", &[("SD_MODE", "aggressive"), ("SD_TICK", "block")]);
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_within(SIGTERM, BLOCKED);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            &format!("WARN - {CANCEL_WARN} within 500ms"),
            "Graceful Interrupt...",
        ],
    );
    // The state could not be dropped: its thread is the blocked one.
    absent(&log, "state dropped");
    absent(&log, "on_stop ran");
    ends_gracefully(&log);
}

#[test]
fn passive_idle_stops_at_once_awaiting_on_stop_then_dropping_the_state() {
    let d = start("pas-idle", &[("SD_INTERVAL_MS", "60000")]);
    d.wait_line("tick 1 end");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "interrupted == True",
            "Received 15 signal.",
            "on_stop ran",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "tick 2 start");
    ends_gracefully(&log);
}

#[test]
fn passive_lets_the_tick_future_run_to_its_end() {
    let d = start("pas-busy", &[("SD_TICK", "sleep:700")]);
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "tick 1 end",
            "on_stop ran",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "tick 2 start");
    ends_gracefully(&log);
}

#[test]
fn a_second_signal_cancels_the_passive_tick_and_skips_on_stop() {
    let d = start("pas-second", &[("SD_TICK", "await")]);
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    d.wait_line("interrupted == True");
    let (code, log) = d.stop_within(SIGINT, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "WARN - Second stop signal (2)",
            "tick local dropped",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    absent(&log, CANCEL_WARN);
    ends_gracefully(&log);
}

#[test]
fn stop_timeout_cancels_the_passive_tick() {
    let d = start(
        "pas-timeout",
        &[("SD_TICK", "await"), ("SD_STOP_TIMEOUT_MS", "300")],
    );
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_within(SIGTERM, Duration::from_millis(300) + AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "WARN - stop_timeout of 300ms elapsed",
            "tick local dropped",
            "state dropped",
        ],
    );
    absent(&log, "on_stop ran");
    ends_gracefully(&log);
}

#[test]
fn an_escalated_stop_of_a_tick_blocked_in_sync_code_ends_within_a_second_with_a_warning() {
    let d = start("pas-block", &[("SD_TICK", "block")]);
    d.wait_line("tick 1 start");
    d.signal(SIGTERM);
    d.wait_line("interrupted == True");
    let (code, log) = d.stop_within(SIGTERM, BLOCKED);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "WARN - Second stop signal (15)",
            &format!("WARN - {CANCEL_WARN}"),
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    ends_gracefully(&log);
}

#[test]
fn endless_tasks_and_spawn_blocking_work_do_not_hold_the_exit() {
    for mode in ["passive", "aggressive"] {
        let d = start(
            "leftover",
            &[
                ("SD_MODE", mode),
                ("SD_INTERVAL_MS", "60000"),
                ("SD_SPAWN", "endless,blocking"),
            ],
        );
        d.wait_line("tick 1 end");
        let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
        assert_eq!(code, 0, "{mode}: {log}");
        // The endless task is dropped at its next `.await` when the runtime shuts down, before
        // the end; the blocking sleep is abandoned.
        in_order(
            &log,
            &["state dropped", "endless task dropped", "Graceful Interrupt..."],
        );
        ends_gracefully(&log);
        if mode == "aggressive" {
            // No grace for the tasks, and the blocking pool is not waited for: milliseconds
            // from the signal to the end, not `TASKS_WAIT` (250 ms), by the daemon's own stamps.
            let stamp = |needle: &str| {
                log.lines()
                    .find(|l| l.contains(needle))
                    .and_then(stamp_ms)
                    .unwrap_or_else(|| panic!("no {needle:?} line: {log}"))
            };
            let took = stamp("Graceful Interrupt...") - stamp("Received 15 signal.");
            assert!(took < 200, "the aggressive stop took {took} ms: {log}");
        }
    }
}

#[test]
fn the_awaited_form_in_the_programs_own_runtime_stops_the_same_way() {
    // Aggressive: cancelled at its await.
    let d = start(
        "awaited-agg",
        &[
            ("SD_FORM", "awaited"),
            ("SD_MODE", "aggressive"),
            ("SD_TICK", "await"),
        ],
    );
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "tick local dropped",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    // Passive, with a `spawn_blocking` that never returns left on the program's runtime: the
    // program's own runtime drop would wait for it forever; the run's bound ends the process.
    let d = start(
        "awaited-pas",
        &[
            ("SD_FORM", "awaited"),
            ("SD_INTERVAL_MS", "60000"),
            ("SD_SPAWN", "blocking"),
        ],
    );
    d.wait_line("tick 1 end");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "on_stop ran",
            "state dropped",
            "Graceful Interrupt...",
            "run_async returned",
        ],
    );
}

#[test]
fn stopped_and_token_complete_at_the_first_signal_of_a_passive_stop() {
    let d = start("stopped", &[("SD_TICK", "stopped"), ("SD_SPAWN", "token")]);
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "tick saw stopped",
            "tick 1 end",
            "on_stop ran",
            "Graceful Interrupt...",
        ],
    );
    assert_eq!(lines_with_in(&log, "task saw the token"), 1, "{log}");
    assert!(
        position(&log, "task saw the token") < position(&log, "Graceful Interrupt..."),
        "{log}"
    );
    ends_gracefully(&log);

    let d = start("sleep-async", &[("SD_TICK", "ctx_sleep")]);
    d.wait_line("tick 1 start");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "sleep_async returned false",
            "tick 1 end",
            "on_stop ran",
        ],
    );
}

#[test]
fn a_panic_in_a_spawned_task_is_logged_with_its_location_and_the_daemon_goes_on() {
    let d = start("task-panic", &[("SD_SPAWN", "panic"), ("SD_INTERVAL_MS", "50")]);
    d.wait_line("the task lost its connection");
    d.wait_line("tick 5 end");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    let panic_line = log
        .lines()
        .find(|l| l.contains("panicked at"))
        .unwrap_or_else(|| panic!("no panic line in:\n{log}"));
    assert!(
        panic_line.contains(" - ERROR - ") && panic_line.contains("src/bin/async_daemon.rs:"),
        "{panic_line}"
    );
    ends_gracefully(&log);
}

#[test]
fn a_tick_error_exits_1_and_a_tick_panic_101() {
    let d = start("tick-err", &[("SD_TICK", "error:2")]);
    let (code, log) = d.exit();
    assert_eq!(code, 1, "{log}");
    assert_eq!(
        lines_with_in(&log, "ERROR - Tick failed: tick 2 could not reach the upstream"),
        1,
        "{log}"
    );
    absent(&log, "on_stop ran");

    let d = start("tick-panic", &[("SD_TICK", "panic:2")]);
    let (code, log) = d.exit();
    assert_eq!(code, 101, "{log}");
    let panic_line = log
        .lines()
        .find(|l| l.contains("panicked at"))
        .unwrap_or_else(|| panic!("no panic line in:\n{log}"));
    assert!(panic_line.contains(" - ERROR - "), "{panic_line}");
    assert!(log.contains("tick 2 found the queue corrupted"), "{log}");
    absent(&log, "on_stop ran");
}

#[test]
fn a_sighup_awaits_on_reload_between_ticks() {
    let d = start("reload", &[("SD_INTERVAL_MS", "60000")]);
    d.wait_line("tick 1 end");
    d.signal(SIGHUP);
    d.wait_line("on_reload ran");
    d.wait_line("Reloaded");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    absent(&log, "tick 2 start");
}

#[test]
fn flavor_current_thread_runs_without_workers_and_stops_the_same_way() {
    let d = start("multi", &[("SD_MODE", "aggressive"), ("SD_TICK", "await")]);
    d.wait_line("tick 1 start");
    assert!(
        d.threads().iter().any(|t| t.starts_with("tokio-")),
        "multi-thread: {:?}",
        d.threads()
    );
    drop(d);

    for mode in ["aggressive", "passive"] {
        let d = start(
            "current",
            &[
                ("SD_FLAVOR", "current_thread"),
                ("SD_MODE", mode),
                ("SD_TICK", "await"),
                ("SD_SPAWN", "endless"),
            ],
        );
        d.wait_line("tick 1 start");
        let threads = d.threads();
        assert!(
            !threads.iter().any(|t| t.starts_with("tokio-")),
            "current_thread: {threads:?}"
        );
        if mode == "passive" {
            d.signal(SIGTERM);
            d.wait_line("interrupted == True");
        }
        let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
        assert_eq!(code, 0, "{mode}: {log}");
        in_order(
            &log,
            &[
                "tick local dropped",
                "state dropped",
                "endless task dropped",
                "Graceful Interrupt...",
            ],
        );
        absent(&log, "on_stop ran");
        ends_gracefully(&log);
    }
}

#[test]
fn a_storm_of_10000_signals_stops_an_async_daemon_once() {
    for mode in ["passive", "aggressive"] {
        let d = start(
            "storm",
            &[("SD_MODE", mode), ("SD_TICK", "await"), ("SD_SPAWN", "endless")],
        );
        d.wait_line("tick 1 start");
        let sent = storm(d.pid(), "INT,TERM,HUP");
        assert!(sent >= 1, "no signal was delivered");
        let (code, log) = d.exit();
        assert_eq!(code, 0, "{mode}: {log}");
        ends_gracefully(&log);
        assert_eq!(lines_with_in(&log, "state dropped"), 1, "{mode}: {log}");
        absent(&log, "panicked");
        absent(&log, "on_stop ran");
    }
}

#[test]
fn the_attributes_async_form_is_cancelled_at_its_await_on_a_current_thread_runtime() {
    let dir = TempDir::new("macro-async");
    let log = dir.path().join("MacroAsync.log");
    let child = Command::new(env!("CARGO_BIN_EXE_macro_async_daemon"))
        .env("LOGS_DIRECTORY", dir.path())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn macro_async_daemon");
    let d = Daemon::new(child, log, dir);
    d.wait_line("poll 1 start");
    assert!(
        !d.threads().iter().any(|t| t.starts_with("tokio-")),
        "flavor = \"current_thread\": {:?}",
        d.threads()
    );
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Mode: AGGRESSIVE",
            "Received 15 signal.",
            "tick local dropped",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    ends_gracefully(&log);
}

#[test]
fn an_async_daemon_tells_systemd_ready_feeds_the_watchdog_between_ticks_and_says_stopping() {
    let peer_dir = TempDir::new("async-notify");
    let peer = fault_common::NotifyPeer::bind(peer_dir.path());
    let sock = peer.path.to_string_lossy().into_owned();
    let d = start(
        "async-notify",
        &[
            ("SD_INTERVAL_MS", "60000"),
            ("NOTIFY_SOCKET", &sock),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    d.wait_line("tick 1 end");
    // WATCHDOG_USEC=400000: a ping at most every 200 ms, from the sleep between ticks.
    let mut got: Vec<String> = Vec::new();
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        got.extend(peer.drain());
    }
    assert_eq!(got.iter().filter(|m| m.contains("READY=1")).count(), 1, "{got:?}");
    let pings = got.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(pings >= 3, "{pings} watchdog pings in 1.5 s of sleep: {got:?}");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    let after = peer.drain();
    assert_eq!(
        after.iter().filter(|m| m.contains("STOPPING=1")).count(),
        1,
        "{after:?}"
    );
}

#[test]
fn a_passive_stop_during_an_async_new_lets_it_end_then_runs_no_tick() {
    let d = start("pas-new", &[("SD_NEW", "sleep:600")]);
    d.wait_line("new start");
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "new end",
            "new local dropped",
            "on_stop ran",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "tick 1 start");
    ends_gracefully(&log);
}

#[test]
fn an_aggressive_stop_during_an_async_new_cancels_it_at_its_await() {
    let d = start("agg-new", &[("SD_MODE", "aggressive"), ("SD_NEW", "sleep:60000")]);
    d.wait_line("new start");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "new local dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "new end");
    absent(&log, "tick 1 start");
    absent(&log, "on_stop");
    absent(&log, CANCEL_WARN);
    ends_gracefully(&log);
}

#[test]
fn a_second_signal_during_an_async_new_cancels_it_at_its_await() {
    let d = start("pas-new-second", &[("SD_NEW", "sleep:60000")]);
    d.wait_line("new start");
    d.signal(SIGTERM);
    d.wait_line("interrupted == True");
    let (code, log) = d.stop_within(SIGINT, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "WARN - Second stop signal (2)",
            "new local dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "new end");
    absent(&log, "on_stop");
    ends_gracefully(&log);
}

#[test]
fn a_single_signal_lets_an_async_on_stop_run_to_its_end() {
    let d = start(
        "pas-on-stop",
        &[("SD_INTERVAL_MS", "60000"), ("SD_ON_STOP", "sleep:500")],
    );
    d.wait_line("tick 1 end");
    let sent = Instant::now();
    d.signal(SIGTERM);
    let (code, log) = d.exit();
    assert_eq!(code, 0, "{log}");
    assert!(
        sent.elapsed() >= Duration::from_millis(500),
        "on_stop's sleep was cut:\n{log}"
    );
    in_order(
        &log,
        &[
            "Received 15 signal.",
            "on_stop start",
            "on_stop local dropped",
            "on_stop ran",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    ends_gracefully(&log);
}

#[test]
fn a_second_signal_during_an_async_on_stop_cancels_it_at_its_await() {
    let d = start(
        "pas-on-stop-second",
        &[("SD_INTERVAL_MS", "60000"), ("SD_ON_STOP", "sleep:60000")],
    );
    d.wait_line("tick 1 end");
    d.signal(SIGTERM);
    d.wait_line("on_stop start");
    let (code, log) = d.stop_within(SIGTERM, AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "on_stop start",
            "WARN - Second stop signal (15)",
            "on_stop local dropped",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    absent(&log, CANCEL_WARN);
    ends_gracefully(&log);
}

#[test]
fn stop_timeout_during_an_async_on_stop_cancels_it() {
    let d = start(
        "pas-on-stop-timeout",
        &[
            ("SD_INTERVAL_MS", "60000"),
            ("SD_ON_STOP", "sleep:60000"),
            ("SD_STOP_TIMEOUT_MS", "300"),
        ],
    );
    d.wait_line("tick 1 end");
    let (code, log) = d.stop_within(SIGTERM, Duration::from_millis(300) + AT_ONCE);
    assert_eq!(code, 0, "{log}");
    in_order(
        &log,
        &[
            "on_stop start",
            "WARN - stop_timeout of 300ms elapsed",
            "on_stop local dropped",
            "state dropped",
            "Graceful Interrupt...",
        ],
    );
    absent(&log, "on_stop ran");
    ends_gracefully(&log);
}
