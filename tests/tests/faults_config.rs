//! Bad input at run time: every configuration that cannot work, through the builder or the
//! environment, on a real process. Each either exits 78 (`EX_CONFIG`) before any tick with ONE
//! line on stderr naming the setting, or runs with its documented fallback and ONE warning in the
//! log naming it.
//!
//! The test also writes the troubleshooting table (what you see, why, what to do) from the real
//! messages to `target/fault-troubleshooting.md`.

mod fault_common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};

use fault_common::{record_asserted, target_dir, NAME};
use simple_daemon_tests::{read, wait_exit, wait_until, TempDir, PATIENCE};

/// What a case must give.
enum Expect {
    /// Exit 78, one line on stderr containing each of these.
    Config(&'static [&'static str]),
    /// Runs; one WARN line in the log containing each of these; exit 0 on SIGTERM.
    Warns(&'static [&'static str]),
    /// Runs normally (a documented meaning, no warning); exit 0 on SIGTERM.
    Runs,
}

struct Case {
    /// What the user did, for the table.
    what: &'static str,
    /// Environment of `fault_daemon`; `{dir}` is replaced by a fresh directory.
    env: &'static [(&'static str, &'static str)],
    /// Something to plant in `{dir}` first.
    setup: fn(&std::path::Path),
    expect: Expect,
    /// What to do about it, for the table.
    fix: &'static str,
}

fn nothing(_: &std::path::Path) {}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "name with a space",
            env: &[("FD_NAME", "My Daemon")],
            setup: nothing,
            expect: Expect::Config(&["invalid name", "My Daemon"]),
            fix: "1 to 64 characters, no `/`, `:`, `[`, spaces or control characters",
        },
        Case {
            what: "name with a slash",
            env: &[("FD_NAME", "a/b")],
            setup: nothing,
            expect: Expect::Config(&["invalid name"]),
            fix: "as above",
        },
        Case {
            what: "name longer than 64 characters",
            env: &[(
                "FD_NAME",
                "n234567890123456789012345678901234567890123456789012345678901234567890",
            )],
            setup: nothing,
            expect: Expect::Config(&["invalid name"]),
            fix: "as above",
        },
        Case {
            what: "log_name with a slash",
            env: &[("FD_LOG_NAME", "sub/x.log")],
            setup: nothing,
            expect: Expect::Config(&["invalid log_name", "sub/x.log"]),
            fix: "a plain file name; put the directory in `log_path`",
        },
        Case {
            what: "log_name `..`",
            env: &[("FD_LOG_NAME", "..")],
            setup: nothing,
            expect: Expect::Config(&["invalid log_name"]),
            fix: "as above",
        },
        Case {
            what: "log_format with an unknown field",
            env: &[("FD_LOG_FORMAT", "{time} {lvl} {message}")],
            setup: nothing,
            expect: Expect::Config(&["invalid log_format", "lvl"]),
            fix: "fields: `{time}` `{name}` `{level}` `{message}` `{pid}` `{target}`; `{{` `}}` for braces",
        },
        Case {
            what: "log_format with an unclosed brace",
            env: &[("FD_LOG_FORMAT", "{time} - {message")],
            setup: nothing,
            expect: Expect::Config(&["invalid log_format"]),
            fix: "as above",
        },
        Case {
            what: "log_format with a lone `}`",
            env: &[("FD_LOG_FORMAT", "{message} }")],
            setup: nothing,
            expect: Expect::Config(&["invalid log_format"]),
            fix: "as above",
        },
        Case {
            what: "max_log_size 0",
            env: &[("FD_MAX_LOG_SIZE", "0")],
            setup: nothing,
            expect: Expect::Config(&["invalid max_log_size"]),
            fix: "at least 1 byte (a record larger than the limit gets a file of its own)",
        },
        Case {
            what: "max_log_files 0",
            env: &[("FD_MAX_LOG_FILES", "0")],
            setup: nothing,
            expect: Expect::Config(&["invalid max_log_files"]),
            fix: "at least 1",
        },
        Case {
            what: "stop_timeout 0",
            env: &[("FD_STOP_TIMEOUT_MS", "0")],
            setup: nothing,
            expect: Expect::Config(&["invalid stop_timeout"]),
            fix: "greater than zero; for a stop at once use `mode = \"aggressive\"`",
        },
        Case {
            what: "watchdog under 2 ms",
            env: &[("FD_WATCHDOG_MS", "1")],
            setup: nothing,
            expect: Expect::Config(&["invalid watchdog"]),
            fix: "at least 2ms",
        },
        Case {
            what: "log_path is a regular file",
            env: &[("FD_LOG_DIR", "{dir}/file")],
            setup: |d| std::fs::write(d.join("file"), "").expect("plant"),
            expect: Expect::Config(&["log_path", "/file", "not a directory"]),
            fix: "point `log_path` at a directory",
        },
        Case {
            what: "log_path under a regular file",
            env: &[("FD_LOG_DIR", "{dir}/file/logs")],
            setup: |d| std::fs::write(d.join("file"), "").expect("plant"),
            expect: Expect::Config(&["log_path", "cannot be created"]),
            fix: "as above",
        },
        Case {
            what: "log_path on a file system where nothing can be created (/proc)",
            env: &[("FD_LOG_DIR", "/proc/self")],
            setup: nothing,
            expect: Expect::Config(&["log_path", "/proc/self"]),
            fix: "a writable directory (systemd: `LogsDirectory=`)",
        },
        Case {
            what: "the log file is a directory",
            env: &[],
            setup: |d| std::fs::create_dir(d.join(format!("{NAME}.log"))).expect("plant"),
            expect: Expect::Config(&["log_name", "not a regular file"]),
            fix: "remove what is at the log file's path, or choose another `log_name`",
        },
        Case {
            what: "the log file is a symbolic link",
            env: &[],
            setup: |d| {
                std::os::unix::fs::symlink("/etc/passwd", d.join(format!("{NAME}.log"))).expect("plant")
            },
            expect: Expect::Config(&["log_name", "symbolic link"]),
            fix: "remove the link (it is never followed), or choose another `log_path`",
        },
        Case {
            what: "the log file is a FIFO",
            env: &[],
            setup: |d| {
                let p = std::ffi::CString::new(
                    d.join(format!("{NAME}.log"))
                        .into_os_string()
                        .into_encoded_bytes(),
                )
                .expect("path");
                // SAFETY: `p` is a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0);
            },
            expect: Expect::Config(&["log_name", "not a regular file"]),
            fix: "as for a directory",
        },
        Case {
            what: "$LOGS_DIRECTORY names a regular file (no log_path)",
            env: &[("FD_LOG_DIR", ""), ("LOGS_DIRECTORY", "{dir}/file")],
            setup: |d| std::fs::write(d.join("file"), "").expect("plant"),
            expect: Expect::Config(&["log_path", "$LOGS_DIRECTORY"]),
            fix: "fix `LogsDirectory=` in the unit, or give `log_path`",
        },
        Case {
            what: "syslog on, socket missing",
            env: &[("FD_SYSLOG", "{dir}/no-such.sock")],
            setup: nothing,
            expect: Expect::Config(&["syslog", "no-such.sock", "cannot be reached"]),
            fix: "start a syslog daemon (or journald) or turn `syslog` off",
        },
        Case {
            what: "syslog on, socket path is a regular file",
            env: &[("FD_SYSLOG", "{dir}/file")],
            setup: |d| std::fs::write(d.join("file"), "").expect("plant"),
            expect: Expect::Config(&["syslog", "cannot be reached"]),
            fix: "as above",
        },
        Case {
            what: "$NOTIFY_SOCKET relative",
            env: &[("NOTIFY_SOCKET", "run/notify")],
            setup: nothing,
            expect: Expect::Warns(&["NOTIFY_SOCKET", "not notifying systemd"]),
            fix: "fallback: runs without the notify protocol; fix the service manager's setting",
        },
        Case {
            what: "$WATCHDOG_USEC not a number",
            env: &[("NOTIFY_SOCKET", "{dir}/notify.sock"), ("WATCHDOG_USEC", "5s")],
            setup: peer,
            expect: Expect::Warns(&["WATCHDOG_USEC", "watchdog off"]),
            fix: "fallback: runs without watchdog pings (systemd sets it from `WatchdogSec=`)",
        },
        Case {
            what: "$WATCHDOG_USEC 0",
            env: &[("NOTIFY_SOCKET", "{dir}/notify.sock"), ("WATCHDOG_USEC", "0")],
            setup: peer,
            expect: Expect::Warns(&["WATCHDOG_USEC", "watchdog off"]),
            fix: "as above",
        },
        Case {
            what: "$WATCHDOG_USEC negative",
            env: &[("NOTIFY_SOCKET", "{dir}/notify.sock"), ("WATCHDOG_USEC", "-1")],
            setup: peer,
            expect: Expect::Warns(&["WATCHDOG_USEC", "watchdog off"]),
            fix: "as above",
        },
        Case {
            what: "$WATCHDOG_PID not a pid",
            env: &[
                ("NOTIFY_SOCKET", "{dir}/notify.sock"),
                ("WATCHDOG_USEC", "1000000"),
                ("WATCHDOG_PID", "self"),
            ],
            setup: peer,
            expect: Expect::Warns(&["WATCHDOG_PID", "watchdog off"]),
            fix: "as above",
        },
        Case {
            what: "$NOTIFY_SOCKET names no socket",
            env: &[("NOTIFY_SOCKET", "{dir}/nobody.sock")],
            setup: nothing,
            expect: Expect::Runs,
            fix: "documented: a send error never stops the daemon; nothing is logged",
        },
        Case {
            what: "interval 0",
            env: &[("FD_INTERVAL_MS", "0")],
            setup: nothing,
            expect: Expect::Runs,
            fix: "documented: a zero interval means none (ticks back to back)",
        },
        Case {
            what: "interval, stop_timeout = Duration::MAX",
            env: &[("FD_INTERVAL_MS", "max"), ("FD_STOP_TIMEOUT_MS", "max")],
            setup: nothing,
            expect: Expect::Runs,
            fix: "documented: too far to reach means never",
        },
        Case {
            what: "max_log_size 1 byte",
            env: &[("FD_MAX_LOG_SIZE", "1")],
            setup: nothing,
            expect: Expect::Runs,
            fix: "documented: every record gets a file of its own",
        },
    ]
}

fn peer(d: &std::path::Path) {
    // Bound and left open until the directory goes: datagrams just queue.
    let s = UnixDatagram::bind(d.join("notify.sock")).expect("bind");
    std::mem::forget(s);
}

/// Run one case; returns the message seen (stderr line or WARN line).
fn run(case: &Case) -> String {
    let dir = TempDir::new("config");
    (case.setup)(dir.path());
    let d = dir.path().to_string_lossy().into_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fault_daemon"));
    cmd.env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("LOGS_DIRECTORY")
        .env("FD_LOG_DIR", &d)
        .env("FD_TICK", "idle")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in case.env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v.replace("{dir}", &d));
        }
    }
    let mut child = cmd.spawn().expect("spawn fault_daemon");
    let log = dir.path().join(format!("{NAME}.log"));
    // Only a regular file: opening a planted FIFO to read it would block.
    let read = |p: &std::path::Path| {
        let regular = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
        if regular {
            read(p)
        } else {
            String::new()
        }
    };
    let started = wait_until(PATIENCE, || {
        matches!(child.try_wait(), Ok(Some(_))) || read(&log).contains("tick 1 start")
    });
    assert!(started, "{}: neither exited nor ticked", case.what);
    let stderr = |child: &mut std::process::Child| {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        err
    };
    match case.expect {
        Expect::Config(needles) => {
            let st = wait_exit(&mut child, PATIENCE);
            let err = stderr(&mut child);
            assert_eq!(st.code(), Some(78), "{}: {st:?}, stderr {err:?}", case.what);
            assert_eq!(err.lines().count(), 1, "{}: one sentence: {err:?}", case.what);
            for n in needles {
                assert!(err.contains(n), "{}: {n:?} not in {err:?}", case.what);
            }
            assert!(!read(&log).contains("tick 1 start"), "{}: ticked", case.what);
            err.trim_end().to_owned()
        }
        Expect::Warns(_) | Expect::Runs => {
            simple_daemon_tests::kill(child.id(), libc::SIGTERM);
            let st = wait_exit(&mut child, PATIENCE);
            let err = stderr(&mut child);
            let text = read(&log);
            assert_eq!(st.code(), Some(0), "{}: {st:?} {err}\n{text}", case.what);
            let warns: Vec<&str> = text.lines().filter(|l| l.contains(" - WARN - ")).collect();
            match case.expect {
                Expect::Warns(needles) => {
                    assert_eq!(warns.len(), 1, "{}: one warning:\n{text}", case.what);
                    for n in needles {
                        assert!(warns[0].contains(n), "{}: {n:?} not in {warns:?}", case.what);
                    }
                    warns[0]
                        .split_once(" - WARN - ")
                        .map_or(String::new(), |(_, m)| format!("log: WARN - {m}"))
                }
                _ => {
                    assert!(warns.is_empty(), "{}: warnings {warns:?}", case.what);
                    assert!(err.is_empty(), "{}: stderr {err:?}", case.what);
                    "(runs; nothing reported)".to_owned()
                }
            }
        }
    }
}

#[test]
fn every_configuration_that_cannot_work_exits_78_or_falls_back_with_one_sentence() {
    let cases = cases();
    let mut table =
        String::from("| what you did | what you see | exit status | what to do |\n|---|---|---|---|\n");
    for case in &cases {
        let seen = run(case);
        let status = match case.expect {
            Expect::Config(_) => "78",
            _ => "runs (0 on stop)",
        };
        let seen = seen.replace('|', "\\|");
        table.push_str(&format!(
            "| {} | `{}` | {status} | {} |\n",
            case.what,
            seen.replace('`', "'"),
            case.fix
        ));
    }
    eprintln!("{table}");
    let _ = std::fs::write(target_dir().join("fault-troubleshooting.md"), &table);
    let n = cases.len() as u64;
    record_asserted(
        "bad configuration / environment (each a real process)",
        n,
        None,
        "no log lines involved: each case's exit status and stderr sentence",
        &format!("{n} cases: exit 78 with one sentence, or fallback with one warning"),
    );
}
