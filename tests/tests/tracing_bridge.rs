//! The `tracing` bridge (feature `tracing`) on real processes.
//!
//! - `trace_daemon`: `tracing` events from its own code (in a span whose field is recorded
//!   late) and from a real library, `polling` (its `Poller` emits TRACE events inside spans with
//!   fields), reach the log file under the same directives as `log` records, each once, in
//!   order with them, with their fields and their spans' fields, typed in JSON;
//! - `fault_daemon` with `FD_FLOOD_TRACING`: 4 threads logging flat out, every other line a
//!   `tracing` event, lose no returned line on each exit path (passive and aggressive stops, a
//!   panic, a tick error), and no line is doubled or out of order.

mod fault_common;

use std::process::{Command, Stdio};

use fault_common::{account, count, flooding, record, tail};
use serde_json::Value;
use simple_daemon_tests::{read, wait_exit, wait_for_line, TempDir, PATIENCE};

/// Run `trace_daemon` in `dir` with `envs` until its first tick is done and a few more ran,
/// stop it (SIGTERM), and give its exit status and log.
fn run_trace_daemon(dir: &TempDir, envs: &[(&str, &str)]) -> (i32, String) {
    let log = dir.path().join("TraceDaemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .env_remove("RUST_LOG")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trace_daemon");
    assert!(
        wait_for_line(&log, "logged 3 b", PATIENCE),
        "no third tick:\n{}",
        read(&log)
    );
    simple_daemon_tests::kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    (st.code().unwrap_or(-1), read(&log))
}

/// The JSON lines of a log, parsed by a real parser.
fn json_lines(log: &str) -> Vec<serde_json::Map<String, Value>> {
    log.lines()
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(o)) => o,
            other => panic!("not a JSON object ({other:?}): {l}"),
        })
        .collect()
}

#[test]
fn tracing_events_from_a_library_and_our_code_reach_the_file_with_their_fields_in_order() {
    let dir = TempDir::new("tracing-json");
    let (code, log) = run_trace_daemon(&dir, &[("SD_LEVEL", "info,polling=trace"), ("SD_FORMAT", "json")]);
    assert_eq!(code, 0, "{log}");
    let lines = json_lines(&log);
    let msg = |o: &serde_json::Map<String, Value>| o["message"].as_str().unwrap_or("").to_owned();
    let tick1: Vec<&serde_json::Map<String, Value>> = lines
        .iter()
        .skip_while(|o| msg(o) != "logged 1 a")
        .take_while(|o| msg(o) != "logged 1 b")
        .collect();
    let order: Vec<String> = tick1.iter().map(|o| msg(o)).collect();
    println!("--- tick 1, in order: {order:?}");
    assert_eq!(order.first().map(String::as_str), Some("logged 1 a"), "{log}");
    assert_eq!(order.get(1).map(String::as_str), Some("traced 1"), "{log}");
    // Then polling's own events, in its order: its `Poller::new` ends with `new`, its `wait`
    // with `new events`.
    let new = order
        .iter()
        .position(|m| m == "new")
        .expect("polling's `new` event");
    let waited = order
        .iter()
        .position(|m| m == "new events")
        .expect("polling's `new events` event");
    assert!(1 < new && new < waited, "{order:?}");

    let traced = tick1[1];
    assert_eq!(traced["level"], "INFO");
    assert_eq!(traced["target"], "trace_daemon");
    // The event's fields and its span's (`stage` recorded after the span was made), typed.
    assert_eq!(traced["user"], 42);
    assert_eq!(traced["ok"], true);
    assert_eq!(traced["id"], 7);
    assert_eq!(traced["stage"], "late");

    let events = tick1[waited];
    assert_eq!(events["level"], "TRACE");
    assert!(
        events["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("polling")),
        "{events:?}"
    );
    // `res` is the event's, `deadline` its span's (`wait`); `epoll_fd` is in both, once.
    assert!(
        events.contains_key("res") && events.contains_key("deadline"),
        "{events:?}"
    );
    assert!(events.contains_key("epoll_fd"), "{events:?}");

    // Each event once: every tick has one `traced`, one `new events`, as many as `logged a`.
    let ticks = lines
        .iter()
        .filter(|o| msg(o).starts_with("logged ") && msg(o).ends_with(" a"))
        .count();
    for prefix in ["traced ", "new events"] {
        let n = lines.iter().filter(|o| msg(o).starts_with(prefix)).count();
        assert_eq!(n, ticks, "{prefix:?} {n} times in {ticks} ticks");
    }
    // The directives filter `tracing` events as `log` records: no debug, no other target's trace.
    assert!(!log.contains("hidden "), "{log}");
    assert!(!log.contains("noisy "), "{log}");
}

#[test]
fn directives_keep_a_librarys_tracing_events_out_and_rust_log_brings_them_in() {
    let dir = TempDir::new("tracing-filter");
    let (code, log) = run_trace_daemon(&dir, &[("SD_LEVEL", "debug")]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(" - INFO - traced 1 user=42 ok=true id=7 stage=\"late\""),
        "{log}"
    );
    assert!(log.contains(" - DEBUG - hidden 1"), "{log}");
    assert_eq!(
        count(&log, "new events"),
        0,
        "polling's TRACE events passed `debug`:\n{log}"
    );

    let dir = TempDir::new("tracing-rust-log");
    let (code, log) = run_trace_daemon(
        &dir,
        &[
            ("SD_LEVEL", "warn"),
            ("RUST_LOG", "warn,polling=trace,trace_daemon=info"),
        ],
    );
    assert_eq!(code, 0, "{log}");
    assert!(log.contains(" - TRACE - new events "), "{log}");
    assert!(log.contains(" - INFO - traced 1 "), "{log}");
    assert!(!log.contains("hidden "), "{log}");
}

#[test]
fn another_tracing_subscriber_is_a_configuration_error_with_nothing_on_disk() {
    let dir = TempDir::new("tracing-other");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .env("SD_OTHER_SUBSCRIBER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trace_daemon");
    let st = wait_exit(&mut child, PATIENCE);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert_eq!(st.code(), Some(78), "{err}");
    assert!(
        err.contains("another `tracing` subscriber is already the process's global one"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let files: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert!(files.is_empty(), "{files:?}");
}

/// 4 flood threads, every other line a `tracing` event, ended by `end`: every line whose call
/// returned is in the file, whole, once, in order with the `log` lines of its thread.
fn flood_ends(
    tag: &str,
    extra: &[(&str, &str)],
    end: impl FnOnce(&fault_common::Fd),
    want: i32,
    fault: &str,
) {
    let mut envs = vec![("FD_FLOOD_TRACING", "1")];
    envs.extend_from_slice(extra);
    let (mut fd, ctr) = flooding(tag, &envs);
    end(&fd);
    let (code, log, err) = fd.exit();
    assert_eq!(code, want, "stderr: {err}\n{}", tail(&log));
    // A panic's record spans lines (its location and message): leave it out of the audit.
    let audited: String = log
        .lines()
        .filter(|l| !l.contains("panicked") && !l.starts_with("the tick gave up"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (written, found) = account(&audited, &ctr);
    let traced = audited
        .lines()
        .filter(|l| l.contains(" - INFO - flood t=") && flood_n(l).is_some_and(|n| n % 2 == 1))
        .count();
    assert!(traced > 4000, "only {traced} tracing lines");
    record(
        fault,
        1,
        written,
        found,
        "every returned line, log and tracing, once and in order",
    );
}

/// The `n` of a flood line.
fn flood_n(line: &str) -> Option<u64> {
    let rest = &line[line.find(" n=")? + 3..];
    rest.split(' ').next()?.parse().ok()
}

#[test]
fn tracing_and_log_from_4_threads_lose_nothing_on_a_passive_stop() {
    flood_ends(
        "tr-passive",
        &[],
        |fd| fd.signal(libc::SIGTERM),
        0,
        "tracing+log flood, 4 threads, passive stop",
    );
}

#[test]
fn tracing_and_log_from_4_threads_lose_nothing_on_an_aggressive_stop() {
    flood_ends(
        "tr-aggressive",
        &[("FD_MODE", "aggressive")],
        |fd| fd.signal(libc::SIGTERM),
        0,
        "tracing+log flood, 4 threads, aggressive stop",
    );
}

#[test]
fn tracing_and_log_from_4_threads_lose_nothing_on_a_panic() {
    let trig = TempDir::new("tr-panic-trigger");
    let file = trig.path().join("go");
    let tick = format!("panic:{}", file.display());
    flood_ends(
        "tr-panic",
        &[("FD_TICK", tick.as_str())],
        |_| std::fs::write(&file, b"").expect("touch"),
        101,
        "tracing+log flood, 4 threads, panic in tick",
    );
}

#[test]
fn tracing_and_log_from_4_threads_lose_nothing_on_a_tick_error() {
    let trig = TempDir::new("tr-error-trigger");
    let file = trig.path().join("go");
    let tick = format!("failon:{}", file.display());
    flood_ends(
        "tr-error",
        &[("FD_TICK", tick.as_str())],
        |_| std::fs::write(&file, b"").expect("touch"),
        1,
        "tracing+log flood, 4 threads, tick error",
    );
}
