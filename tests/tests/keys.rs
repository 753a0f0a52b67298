//! The attribute's keys take effect at run time, on a real process (`src/bin/keys_daemon.rs`):
//! `level` filters, `log_format` formats every line, `log_path` and `log_name` place the file,
//! `max_log_size` bounds each file, `max_log_files` keeps that many backups and no more,
//! `stream` copies every line to stdout, `interval` spaces the ticks; and `new` through an alias
//! of `Result` builds the state or ends the process with its error.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_tests::{read, wait_exit, Reap, TempDir, PATIENCE};

#[test]
fn every_key_of_the_attribute_takes_effect() {
    let dir = TempDir::new("keys");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_keys_daemon"))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keys_daemon");
    let mut child = Reap(child);
    let pid = child.0.id();
    let status = wait_exit(&mut child.0, PATIENCE);
    let took = started.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.0.stdout.take() {
        std::io::Read::read_to_string(&mut o, &mut stdout).expect("read stdout");
    }
    if let Some(mut e) = child.0.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("read stderr");
    }
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");

    // log_path = ".", log_name = "keys.log", max_log_files = 3: the live file and exactly
    // three backups, in the working directory.
    let file = |i: usize| match i {
        0 => dir.path().join("keys.log"),
        i => dir.path().join(format!("keys.log.{i}")),
    };
    for i in 0..=3 {
        assert!(file(i).is_file(), "{} missing", file(i).display());
    }
    assert!(!file(4).exists(), "max_log_files = 3 kept a fourth backup");
    assert!(!dir.path().join("KeysDaemon.log").exists());

    // max_log_size = "4KiB": no file passes it.
    for i in 0..=3 {
        let len = std::fs::metadata(file(i)).expect("metadata").len();
        assert!(len <= 4096, "{} has {len} bytes", file(i).display());
    }

    // Oldest backup first, live file last: the lines as they were written.
    let on_disk: String = (0..=3).rev().map(|i| read(&file(i))).collect();
    let lines: Vec<&str> = on_disk.lines().collect();

    // log_format = "{level}|{name}|{pid}|{target}|{message}": every line, the user's with its
    // own target.
    for line in &lines {
        let fields: Vec<&str> = line.splitn(5, '|').collect();
        assert_eq!(fields.len(), 5, "not the template: {line:?}");
        assert!(["INFO", "WARN"].contains(&fields[0]), "{line:?}");
        assert_eq!(fields[1], "KeysDaemon", "{line:?}");
        assert_eq!(fields[2], pid.to_string(), "{line:?}");
    }
    let x = "x".repeat(200);
    let tick_line = |n: u64| format!("INFO|KeysDaemon|{pid}|keys_daemon|tick {n} {x}");
    assert!(lines.contains(&tick_line(100).as_str()), "{on_disk}");
    assert!(lines.contains(&format!("WARN|KeysDaemon|{pid}|keys_daemon|tick 100 warn").as_str()));
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("|Graceful Interrupt...")),
        "{on_disk}"
    );

    // level = "info": no DEBUG line anywhere, neither the user's nor the seed's.
    assert!(
        !on_disk.contains("DEBUG") && !on_disk.contains("debug, filtered"),
        "{on_disk}"
    );
    assert!(!stdout.contains("DEBUG") && !stdout.contains("debug, filtered"));

    // stream: stdout has every line, the ones rotated away included, in the same format.
    for n in 1..=100 {
        assert!(
            stdout.lines().any(|l| l == tick_line(n)),
            "tick {n} not on stdout"
        );
    }
    let kept = stdout.lines().filter(|l| lines.contains(l)).count();
    assert_eq!(kept, lines.len(), "a line on disk is not on stdout");
    assert!(
        !lines.contains(&tick_line(1).as_str()),
        "the first ticks were rotated away"
    );

    // interval = "10ms": 100 ticks, 99 intervals between their starts (a lower bound only).
    assert!(took >= Duration::from_millis(990), "100 ticks took {took:?}");
}

/// `fn new() -> Res<Self>` (an alias of `Result`) with `self: &mut Self` methods: the state is
/// built and ticks, or `new`'s error is logged at ERROR and the process exits 1.
#[test]
fn new_through_an_alias_builds_the_state_or_fails_with_its_error() {
    let run = |fail: Option<&str>| {
        let dir = TempDir::new("try-new");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_try_new_daemon"));
        cmd.current_dir(dir.path()).stdout(Stdio::null());
        if let Some(why) = fail {
            cmd.env("SD_NEW_FAIL", why);
        }
        let mut child = Reap(cmd.spawn().expect("spawn try_new_daemon"));
        let status = wait_exit(&mut child.0, PATIENCE);
        (status.code(), read(&dir.path().join("TryNew.log")))
    };

    let (code, log) = run(None);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains(" - TryNew - INFO - tick 3\n"), "{log}");
    assert!(
        log.contains(" - TryNew - INFO - stopped after 3 ticks\n"),
        "{log}"
    );

    let (code, log) = run(Some("no upstream at db:5432"));
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(" - TryNew - ERROR - Start-up failed: no upstream at db:5432\n"),
        "{log}"
    );
    assert!(!log.contains("tick 1"), "{log}");
}
