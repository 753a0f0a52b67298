//! A daemon whose type lives in a library (`simple_daemon_tests::poller::Poller`) and whose
//! binary's `main` is `SimpleDaemon::main` (`src/bin/lib_daemon.rs`): it keeps the command line
//! `#[daemon]` gives (`--help`, `--version`, `--print-systemd-unit`, exit 64 for anything else)
//! and runs and stops as a generated binary does.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use simple_daemon_tests::{kill, read, wait_exit, wait_for_line, Reap, TempDir, PATIENCE};

fn lib_daemon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lib_daemon"))
        .args(args)
        // None of these invocations may run the daemon: a run would fail to log here.
        .env("SD_LOG_DIR", "/nonexistent/simple-daemon-lib-daemon-test")
        .output()
        .expect("run lib_daemon")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keeps_help_version_and_the_printed_unit() {
    let version = env!("CARGO_PKG_VERSION");

    let help = lib_daemon(&["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help.stderr));
    let out = text(&help.stdout);
    assert!(out.starts_with(&format!("Poller {version}: ")), "{out}");
    assert!(out.contains("--print-systemd-unit"), "{out}");
    assert!(out.contains("ticks every 50ms"), "{out}");

    let v = lib_daemon(&["--version"]);
    assert_eq!(v.status.code(), Some(0));
    assert_eq!(text(&v.stdout), format!("Poller {version}\n"));

    let unit = lib_daemon(&["--print-systemd-unit"]);
    assert_eq!(unit.status.code(), Some(0), "{}", text(&unit.stderr));
    let unit = text(&unit.stdout);
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_lib_daemon")).expect("canonical path");
    for line in [
        "Description=Poller".to_owned(),
        "Type=notify".to_owned(),
        format!("ExecStart={}", exe.display()),
    ] {
        assert!(unit.lines().any(|l| l == line), "no line {line:?} in:\n{unit}");
    }

    let usage = lib_daemon(&["--verbose"]);
    assert_eq!(usage.status.code(), Some(64));
    assert!(text(&usage.stderr).starts_with("lib_daemon: unknown argument"));
    assert!(usage.stdout.is_empty());
}

#[test]
fn runs_the_library_type_and_stops_on_sigterm() {
    let dir = TempDir::new("lib-daemon");
    let log = dir.path().join("Poller.log");
    let child = Command::new(env!("CARGO_BIN_EXE_lib_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .spawn()
        .expect("spawn lib_daemon");
    let mut child = Reap(child);
    assert!(wait_for_line(&log, "poll 2", PATIENCE), "{}", read(&log));
    let sent = Instant::now();
    kill(child.0.id(), libc::SIGTERM);
    let status = wait_exit(&mut child.0, PATIENCE);
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{}", read(&log));
    // A passive stop of a quick tick: the sleep between polls ends at once.
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
    let text = read(&log);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
    };
    assert!(at("Mode: PASSIVE") < at("poll 1"));
    assert!(at("Received 15 signal.") < at("poller stopped after"));
    assert!(at("poller stopped after") < at("Graceful Interrupt..."));
}
