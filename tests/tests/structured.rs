//! Structured logging on a real process (`src/bin/slog_daemon.rs`): filter directives by module,
//! `RUST_LOG` replacing `level` (and an invalid one ending the start with 78), key-value fields
//! in the default format and in `{fields}`, the seed's lines unchanged, JSON lines (to the file
//! and stdout) read back by a real JSON parser, and fields in syslog's text.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use simple_daemon_tests::{kill, read, wait_exit, wait_until, Reap, TempDir, PATIENCE};

/// What one run left: its exit status, stdout, stderr and log file.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    log: String,
    pid: u32,
}

/// Run `slog_daemon` with `env` (and `RUST_LOG` only when given), wait for its first tick, stop
/// it with SIGTERM unless `SD_END` ends it, and collect what it wrote.
fn run(dir: &TempDir, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slog_daemon"));
    cmd.env("SD_LOG_DIR", dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = Reap(cmd.spawn().expect("spawn slog_daemon"));
    let pid = child.0.id();
    let log_path: PathBuf = dir.path().join("SlogDaemon.log");
    let ends_itself = env.iter().any(|(k, _)| *k == "SD_END");
    if !ends_itself {
        // A config error exits at once; otherwise wait for the first tick and stop it.
        let ticked = wait_until(PATIENCE, || {
            read(&log_path).contains("FIRST TICK DONE") || child.0.try_wait().ok().flatten().is_some()
        });
        assert!(ticked, "no first tick in {}", read(&log_path));
        if child.0.try_wait().ok().flatten().is_none() {
            kill(pid, libc::SIGTERM);
        }
    }
    let status = wait_exit(&mut child.0, PATIENCE);
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.0.stdout.take() {
        std::io::Read::read_to_string(&mut o, &mut stdout).expect("read stdout");
    }
    if let Some(mut e) = child.0.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("read stderr");
    }
    Run {
        status,
        stdout,
        stderr,
        log: read(&log_path),
        pid,
    }
}

/// The messages of the text lines (`... - LEVEL - message`).
fn messages(log: &str) -> Vec<&str> {
    log.lines().filter_map(|l| l.splitn(4, " - ").nth(3)).collect()
}

#[test]
fn directives_filter_by_module_on_a_real_process() {
    let dir = TempDir::new("slog-filter");
    let r = run(
        &dir,
        &[(
            "SD_LEVEL",
            "info,slog_daemon::db=trace,hyper=warn,slog_daemon::db::pool=error",
        )],
    );
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let m = messages(&r.log);
    let has = |s: &str| m.contains(&s);
    for level in ["error", "warn", "info"] {
        assert!(has(&format!("slog_daemon {level}")), "{}", r.log);
    }
    for level in ["debug", "trace"] {
        assert!(!has(&format!("slog_daemon {level}")), "{}", r.log);
    }
    for level in ["error", "warn", "info", "debug", "trace"] {
        assert!(has(&format!("slog_daemon::db {level}")), "{}", r.log);
    }
    // The longest target wins: pool is quieter than its parent.
    assert!(has("slog_daemon::db::pool error"), "{}", r.log);
    assert!(!has("slog_daemon::db::pool warn"), "{}", r.log);
    assert!(
        has("hyper::client warn") && !has("hyper::client info"),
        "{}",
        r.log
    );
    assert!(
        has("Log level: info,slog_daemon::db=trace,hyper=warn,slog_daemon::db::pool=error"),
        "{}",
        r.log
    );
    assert!(!r.log.contains("(from RUST_LOG)"), "{}", r.log);
}

#[test]
fn rust_log_replaces_level_and_the_start_lines_say_so() {
    let dir = TempDir::new("slog-rustlog");
    let r = run(
        &dir,
        &[("SD_LEVEL", "trace"), ("RUST_LOG", "info,slog_daemon::db=debug")],
    );
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let m = messages(&r.log);
    assert!(
        m.contains(&"Log level: info,slog_daemon::db=debug (from RUST_LOG)"),
        "{}",
        r.log
    );
    assert!(m.contains(&"slog_daemon::db debug"), "{}", r.log);
    assert!(!m.contains(&"slog_daemon::db trace"), "{}", r.log);
    assert!(!m.contains(&"slog_daemon debug"), "{}", r.log);
    // `level = "trace"` is replaced: not even the start's DEBUG lines are there.
    assert!(!r.log.contains("Set signal handler"), "{}", r.log);

    // An empty or blank RUST_LOG is as good as unset.
    for blank in ["", " ", "\t "] {
        let dir = TempDir::new("slog-rustlog-empty");
        let r = run(&dir, &[("SD_LEVEL", "info"), ("RUST_LOG", blank)]);
        assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
        assert!(
            messages(&r.log).contains(&"Log level: info"),
            "RUST_LOG={blank:?}: {}",
            r.log
        );
    }
}

#[test]
fn a_quiet_default_keeps_the_lifecycle_lines_and_only_a_directive_naming_the_framework_hides_them() {
    // `RUST_LOG=warn,...`: the user's INFO records and the libraries' are cut, the operator's
    // record of the start and the stop is not (the start's DEBUG lines follow the default).
    let dir = TempDir::new("slog-rustlog-warn");
    let r = run(&dir, &[("RUST_LOG", "warn,slog_daemon=debug")]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let m = messages(&r.log);
    let pid = format!("PID: {}", r.pid);
    for line in [
        pid.as_str(),
        "Log level: warn,slog_daemon=debug (from RUST_LOG)",
        "Received 15 signal.",
    ] {
        assert!(m.contains(&line), "{line:?} missing from {}", r.log);
    }
    assert!(m.iter().any(|l| l.starts_with("Mode: ")), "{}", r.log);
    assert!(m.iter().any(|l| l.starts_with("Logging to ")), "{}", r.log);
    assert!(!r.log.contains("Set signal handler"), "{}", r.log);
    assert!(
        m.contains(&"slog_daemon debug") && !m.contains(&"slog_daemon trace"),
        "{}",
        r.log
    );
    assert!(
        m.contains(&"hyper::client warn") && !m.contains(&"hyper::client info"),
        "{}",
        r.log
    );

    // A directive that names the framework's target decides for its lines.
    let dir = TempDir::new("slog-rustlog-framework-off");
    let r = run(&dir, &[("RUST_LOG", "warn,slog_daemon=debug,simple_daemon=off")]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let m = messages(&r.log);
    assert!(m.contains(&"slog_daemon debug"), "{}", r.log);
    assert!(
        !r.log.contains("PID: ") && !r.log.contains("Log level") && !r.log.contains("Received 15"),
        "{}",
        r.log
    );
}

#[test]
fn an_invalid_rust_log_is_a_configuration_error_in_one_sentence() {
    let dir = TempDir::new("slog-rustlog-bad");
    let r = run(&dir, &[("RUST_LOG", "info,hyper=loud")]);
    assert_eq!(r.status.code(), Some(78), "stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].ends_with(
            "invalid RUST_LOG \"info,hyper=loud\": unknown level \"loud\" in directive \"hyper=loud\"; the levels are off, error, warn, info, debug, trace"
        ),
        "{}",
        r.stderr
    );
    assert!(r.log.is_empty(), "a config error logged: {}", r.log);
    assert!(!dir.path().join("SlogDaemon.log").exists());

    let r = run(&dir, &[("RUST_LOG", "warning")]);
    assert_eq!(r.status.code(), Some(78));
    assert!(
        r.stderr.contains("RUST_LOG") && r.stderr.contains("did you mean \"warn\"?"),
        "{}",
        r.stderr
    );
}

/// The part after the seed's time stamp (`2018-11-27 13:47:59,971`), when the line has one.
fn seed(line: &str) -> Option<&str> {
    let (time, rest) = line.split_at_checked(23)?;
    let b = time.as_bytes();
    let digits = time.chars().filter(char::is_ascii_digit).count();
    (digits == 17 && b[19] == b',' && b[10] == b' ').then_some(rest)
}

#[test]
fn fields_follow_the_message_and_the_seed_lines_stay_byte_for_byte() {
    let dir = TempDir::new("slog-text");
    let r = run(&dir, &[]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let pid = r.pid;
    let lines: Vec<&str> = r.log.lines().collect();
    let rest = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .and_then(|l| seed(l))
            .unwrap_or_else(|| panic!("no seed-shaped line with {needle:?} in {}", r.log))
    };
    assert_eq!(rest("PID: "), format!(" - SlogDaemon - INFO - PID: {pid}"));
    assert_eq!(
        rest("Set signal handler: 2"),
        " - SlogDaemon - DEBUG - Set signal handler: 2"
    );
    assert_eq!(rest("Mode: "), " - SlogDaemon - INFO - Mode: PASSIVE");
    assert_eq!(
        rest("slog_daemon info"),
        " - SlogDaemon - INFO - slog_daemon info"
    );
    assert_eq!(
        rest("login"),
        " - SlogDaemon - INFO - login user=42 neg=-3 big=18446744073709551615 ratio=0.5 ok=true path=\"/x\" quote=\"a\\\"b\\nc\" level=\"mine\""
    );
    assert!(
        r.log.ends_with(" - SlogDaemon - INFO - Graceful Interrupt...\n"),
        "{}",
        r.log
    );
}

#[test]
fn the_fields_template_field() {
    let dir = TempDir::new("slog-fields");
    let r = run(&dir, &[("SD_FORMAT", "{level}|{target}|{message}|{fields}")]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let lines: Vec<&str> = r.log.lines().collect();
    assert!(
        lines.contains(&"INFO|slog_daemon|login|user=42 neg=-3 big=18446744073709551615 ratio=0.5 ok=true path=\"/x\" quote=\"a\\\"b\\nc\" level=\"mine\""),
        "{}",
        r.log
    );
    assert!(lines.contains(&"INFO|slog_daemon|slog_daemon info|"), "{}", r.log);
}

/// Parse one JSON line, failing on a repeated key (serde_json's map would keep the last).
fn object(line: &str) -> Vec<(String, Value)> {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let Value::Object(map) = v else {
        panic!("not an object: {line}")
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    // Each key once in the raw text: serialised back (same escapes), a dropped key would show.
    let reparsed = serde_json::to_string(&map).expect("serialise");
    assert_eq!(
        reparsed.len(),
        line.len(),
        "a key repeats (serde_json kept one of them): {line}"
    );
    keys.into_iter().map(|k| (k.clone(), map[&k].clone())).collect()
}

#[test]
fn json_lines_to_the_file_and_stdout() {
    let dir = TempDir::new("slog-json");
    let r = run(&dir, &[("SD_FORMAT", "json"), ("SD_STREAM", "1")]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    assert_eq!(r.log, r.stdout, "stdout carries the same JSON lines");
    let mut login = None;
    let mut odd = None;
    for line in r.log.lines() {
        let o = object(line);
        let keys: Vec<&str> = o.iter().take(6).map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["timestamp", "level", "name", "pid", "target", "message"],
            "{line}"
        );
        let m: BTreeMap<&str, &Value> = o.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(m["name"], "SlogDaemon");
        assert_eq!(m["pid"].as_u64(), Some(u64::from(r.pid)));
        let ts = m["timestamp"].as_str().expect("timestamp");
        let b = ts.as_bytes();
        assert!(
            ts.len() == 24 && b[10] == b'T' && b[19] == b'.' && ts.ends_with('Z'),
            "{ts}"
        );
        match m["message"].as_str() {
            Some("login") => {
                login = Some(
                    m.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).clone()))
                        .collect::<BTreeMap<_, _>>(),
                )
            }
            Some(s) if s.starts_with("odd ") => odd = Some(s.to_owned()),
            _ => {}
        }
    }
    let login = login.expect("the login record");
    assert_eq!(login["level"], "INFO", "the fixed key keeps its value");
    assert_eq!(login["_level"], "mine", "the user's field is renamed, not lost");
    assert_eq!(login["target"], "slog_daemon");
    assert!(login["user"].is_i64() && login["user"] == 42);
    assert!(login["neg"] == -3);
    assert!(login["big"].is_u64() && login["big"].as_u64() == Some(u64::MAX));
    assert!(login["ratio"].is_f64() && login["ratio"] == 0.5);
    assert_eq!(login["ok"], true);
    assert_eq!(login["path"], "/x");
    assert_eq!(login["quote"], "a\"b\nc");
    assert_eq!(
        odd.as_deref(),
        Some("odd \"quoted\" back\\slash\nsecond line\ttab \u{1} end")
    );
}

#[test]
fn a_panic_is_one_json_line() {
    let dir = TempDir::new("slog-json-panic");
    let r = run(&dir, &[("SD_FORMAT", "json"), ("SD_END", "panic")]);
    assert_eq!(r.status.code(), Some(101), "stderr: {}", r.stderr);
    let panic_lines: Vec<&str> = r.log.lines().filter(|l| l.contains("panicked at")).collect();
    assert_eq!(panic_lines.len(), 1, "{}", r.log);
    let o = object(panic_lines[0]);
    let m: BTreeMap<&str, &Value> = o.iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert_eq!(m["level"], "ERROR");
    let msg = m["message"].as_str().expect("message");
    assert!(
        msg.contains("slog_daemon.rs:") && msg.ends_with("\nboom \"quoted\"\nsecond line"),
        "{msg}"
    );
    for line in r.log.lines() {
        object(line);
    }

    let dir = TempDir::new("slog-json-error");
    let r = run(&dir, &[("SD_FORMAT", "json"), ("SD_END", "error")]);
    assert_eq!(r.status.code(), Some(1), "stderr: {}", r.stderr);
    assert!(r.log.lines().all(|l| !object(l).is_empty()));
    assert!(r.log.contains("the tick failed"), "{}", r.log);
}

#[test]
fn syslog_carries_the_fields_in_its_text() {
    let dir = TempDir::new("slog-syslog");
    let sock_path = dir.path().join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind a syslog socket");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // Read while the daemon runs: a datagram socket queues few datagrams.
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        while let Ok(n) = sock.recv(&mut buf) {
            let d = String::from_utf8_lossy(&buf[..n]).into_owned();
            let last = d.contains("Graceful Interrupt...");
            got.push(d);
            if last {
                break;
            }
        }
        got
    });
    let r = run(&dir, &[("SD_SYSLOG_SOCKET", sock_path.to_str().expect("utf-8"))]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", r.stderr);
    let got = reader.join().expect("reader");
    let found = got.iter().find(|d| d.contains("login")).cloned();
    let d = found.expect("the login datagram");
    assert!(
        d.ends_with(&format!("SlogDaemon[{}]: login user=42 neg=-3 big=18446744073709551615 ratio=0.5 ok=true path=\"/x\" quote=\"a\\\"b\\nc\" level=\"mine\"", r.pid)),
        "{d}"
    );
}
