//! The generated binary's command line (`SimpleDaemon::main`, what `#[daemon]`'s `main` calls):
//! `--print-systemd-unit`, `--help`, `--version`, and exit 64 with one sentence for anything else.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use simple_daemon_tests::skip_or_fail;

fn sd_daemon(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sd_daemon"))
        .args(args)
        // A run would log here; none of these invocations may run the daemon. (Not SD_LOG_DIR:
        // a log_path changes the printed unit.)
        .env("LOGS_DIRECTORY", "/nonexistent/simple-daemon-cli-test")
        .envs(envs.iter().copied())
        .output()
        .expect("run sd_daemon")
}

/// A directory holding a `systemctl` that prints `systemd VERSION (VERSION.1)` for
/// `--version`, as the real one does, and the `PATH` that finds it first.
fn fake_systemctl(version: u32) -> (simple_daemon_tests::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = simple_daemon_tests::TempDir::new(&format!("systemctl-{version}"));
    let bin = dir.path().join("systemctl");
    std::fs::write(
        &bin,
        format!("#!/bin/sh\necho 'systemd {version} ({version}.1-1)'\necho '+PAM +AUDIT'\n"),
    )
    .expect("write the fake systemctl");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn print_systemd_unit_comes_from_the_codes_own_configuration() {
    // A systemd before 253 (bookworm's), whatever this host runs.
    let (_bin, path) = fake_systemctl(252);
    let o = sd_daemon(
        &["--print-systemd-unit"],
        &[
            ("PATH", &path),
            ("SD_NAME", "Billing"),
            ("SD_WATCHDOG_MS", "1500"),
            ("SD_STOP_TIMEOUT_MS", "30000"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let unit = stdout(&o);
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_sd_daemon")).expect("canonical path");
    for line in [
        "[Unit]".to_owned(),
        "Description=Billing".to_owned(),
        "[Service]".to_owned(),
        "Type=notify".to_owned(),
        format!("ExecStart={}", exe.display()),
        "ExecReload=/bin/kill -HUP $MAINPID".to_owned(),
        "KillMode=mixed".to_owned(),
        "Restart=on-failure".to_owned(),
        "RestartPreventExitStatus=64 78".to_owned(),
        "LogsDirectory=Billing".to_owned(),
        "#DynamicUser=yes".to_owned(),
        "#User=billing".to_owned(),
        "NoNewPrivileges=yes".to_owned(),
        "ProtectSystem=strict".to_owned(),
        "PrivateTmp=yes".to_owned(),
        "#After=network-online.target".to_owned(),
        "#Wants=network-online.target".to_owned(),
        "WatchdogSec=1500ms".to_owned(),
        "TimeoutStopSec=35s".to_owned(),
        "[Install]".to_owned(),
        "WantedBy=multi-user.target".to_owned(),
    ] {
        assert!(unit.lines().any(|l| l == line), "no line {line:?} in:\n{unit}");
    }

    // sd_daemon lives in cargo's target directory: the unit says so, and where to install it.
    let profile = exe
        .parent()
        .and_then(|d| d.file_name())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = format!("# NOTE: ExecStart= below is in a cargo build directory (target/{profile}), which");
    assert_eq!(unit.lines().next(), Some(header.as_str()), "{unit}");
    let install = format!("#   install -m 755 {} /usr/local/bin/sd_daemon", exe.display());
    assert!(unit.lines().any(|l| l == install), "no {install:?} in:\n{unit}");

    let plain = stdout(&sd_daemon(&["--print-systemd-unit"], &[]));
    assert!(!plain.contains("WatchdogSec="), "{plain}");
    assert!(!plain.contains("TimeoutStopSec="), "{plain}");

    // A log_path outside /var/log is made writable; one under it is the LogsDirectory=.
    let srv = stdout(&sd_daemon(
        &["--print-systemd-unit"],
        &[("SD_LOG_DIR", "/srv/billing/logs")],
    ));
    assert!(
        srv.lines().any(|l| l == "ReadWritePaths=/srv/billing/logs"),
        "{srv}"
    );
    assert!(!srv.contains("LogsDirectory="), "{srv}");
    let var_log = stdout(&sd_daemon(
        &["--print-systemd-unit"],
        &[("SD_LOG_DIR", "/var/log/billing")],
    ));
    assert!(var_log.lines().any(|l| l == "LogsDirectory=billing"), "{var_log}");
}

#[test]
fn the_unit_is_notify_reload_for_a_systemd_253_or_later_read_from_systemctl() {
    for (version, kind, exec_reload) in [
        (257, "notify-reload", false),
        (253, "notify-reload", false),
        (252, "notify", true),
    ] {
        let (_bin, path) = fake_systemctl(version);
        let o = sd_daemon(&["--print-systemd-unit"], &[("PATH", &path)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let unit = stdout(&o);
        let want = format!("Type={kind}");
        assert!(
            unit.lines().any(|l| l == want),
            "systemd {version}: no {want} in\n{unit}"
        );
        assert_eq!(
            unit.contains("\nExecReload="),
            exec_reload,
            "systemd {version}:\n{unit}"
        );
    }
    // No systemctl at all (a container): the portable Type=notify.
    let empty = simple_daemon_tests::TempDir::new("no-systemctl");
    let o = sd_daemon(
        &["--print-systemd-unit"],
        &[("PATH", &empty.path().display().to_string())],
    );
    let unit = stdout(&o);
    assert!(unit.lines().any(|l| l == "Type=notify"), "{unit}");
    assert!(unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"), "{unit}");
}

#[test]
fn help_says_where_the_log_goes() {
    let help = |envs: &[(&str, &str)]| stdout(&sd_daemon(&["--help"], envs));
    let dir = std::env::temp_dir().join(format!("sd-cli-help-{}", std::process::id()));
    let logs = dir.display().to_string();
    // `sd_daemon` sets log_path from SD_LOG_DIR; this run takes $LOGS_DIRECTORY instead.
    let out = Command::new(env!("CARGO_BIN_EXE_sd_daemon"))
        .arg("--help")
        .env("SD_NAME", "Billing")
        .env("LOGS_DIRECTORY", &dir)
        .env("SD_STREAM", "1")
        .output()
        .expect("run sd_daemon");
    let text = stdout(&out);
    let line = format!("Log file: {logs}/Billing.log (here: $LOGS_DIRECTORY, systemd's LogsDirectory=).");
    assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    assert!(text.contains("It logs to stdout too (stream)."), "{text}");
    assert!(
        text.contains("else /var/log when writable, else $XDG_STATE_HOME/Billing/"),
        "{text}"
    );
    assert!(!dir.exists(), "--help created {}", dir.display());

    let text = help(&[("SD_LOG_DIR", "/srv/billing/logs")]);
    let line = "Log file: /srv/billing/logs/SdDaemon.log (here: the log_path setting).";
    assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    assert!(!text.contains("$XDG_STATE_HOME"), "{text}");
}

#[test]
fn help_and_version_print_and_exit_zero() {
    let o = sd_daemon(&["--help"], &[("SD_NAME", "Billing")]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    assert!(help.starts_with("Billing 0.1.0: "), "{help}");
    assert!(help.contains("--print-systemd-unit"), "{help}");
    assert_eq!(
        stdout(&sd_daemon(&["-h"], &[])),
        stdout(&sd_daemon(&["--help"], &[]))
    );

    let o = sd_daemon(&["--version"], &[("SD_NAME", "Billing")]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "Billing 0.1.0\n");
}

#[test]
fn any_other_argument_is_a_usage_error_in_one_sentence() {
    for args in [
        &["--verbose"][..],
        &["run"],
        &["--help", "--version"],
        &["-V", "-V"],
    ] {
        let o = sd_daemon(args, &[]);
        assert_eq!(o.status.code(), Some(64), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sd_daemon: "), "{err}");
        assert!(err.trim_end().ends_with('.'), "{err}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn a_bad_setting_is_reported_by_print_systemd_unit_too() {
    let o = sd_daemon(&["--print-systemd-unit"], &[("SD_NAME", "bad name")]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("invalid name"), "{}", stderr(&o));
}

/// The binary of example `name`, built here when missing (`cargo test --workspace` has built
/// it already; `cargo test -p simple-daemon-tests --test cli` has not), with the profile and
/// target directory of this test. `None` after `skip_or_fail` when it cannot be built.
fn example(name: &str) -> Option<PathBuf> {
    let bins = Path::new(env!("CARGO_BIN_EXE_sd_daemon")).parent()?;
    let exe = bins.join("examples").join(name);
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "simple-daemon-examples",
            "--example",
            name,
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"));
    if let Some(target) = bins.parent() {
        build.env("CARGO_TARGET_DIR", target);
    }
    if bins.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    match build.status() {
        Ok(st) if st.success() && exe.is_file() => Some(exe),
        Ok(st) => {
            skip_or_fail(&format!(
                "building the {name} example failed ({st}), or gave no {}",
                exe.display()
            ));
            None
        }
        Err(e) => {
            skip_or_fail(&format!("cannot run cargo to build the {name} example: {e}"));
            None
        }
    }
}

/// The hand-written loop (`guard_loop`, the form the docs of `SimpleDaemon::start` show) ends a
/// failed start as the generated daemons do: `Error::report`, one sentence, exit status 78.
#[test]
fn the_hand_written_loop_reports_a_failed_start_in_one_sentence_and_78() {
    let Some(exe) = example("guard_loop") else {
        return;
    };
    let o = Command::new(&exe)
        .env("LOGS_DIRECTORY", "/etc/hostname")
        .output()
        .expect("run guard_loop");
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "guard_loop: log_path \"/etc/hostname\" (from $LOGS_DIRECTORY) is not a directory\n"
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

/// `examples/systemd/Heartbeat.service` is what the heartbeat example prints, but for
/// `ExecStart=` and the comments above the header (the note that the binary is in a cargo build
/// directory).
#[test]
fn the_example_unit_file_is_what_the_example_prints() {
    let Some(exe) = example("heartbeat") else {
        return;
    };
    // The example file is the unit for a systemd before 253 (the Type=notify one).
    let (_bin, path) = fake_systemctl(252);
    let printed = Command::new(&exe)
        .arg("--print-systemd-unit")
        .env("PATH", path)
        .output()
        .expect("run heartbeat");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/systemd/Heartbeat.service");
    let file = std::fs::read_to_string(&file).expect("read examples/systemd/Heartbeat.service");
    let body = |s: &str| -> Vec<String> {
        s.lines()
            .skip_while(|l| !l.starts_with("# Heartbeat:"))
            .filter(|l| !l.starts_with("ExecStart="))
            .map(str::to_owned)
            .collect()
    };
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(body(&printed).len() > 10, "{printed}");
    assert_eq!(body(&file), body(&printed));
    assert!(file.contains("\nExecStart=/usr/local/bin/heartbeat\n"));
}

/// Run example `name` logging into a fresh directory, wait for `ready` in its log, send
/// SIGTERM, and return the exit status, how long the exit took, and the log.
fn run_example_until(name: &str, ready: &str) -> Option<(Option<i32>, std::time::Duration, String)> {
    let exe = example(name)?;
    let dir = simple_daemon_tests::TempDir::new(name);
    let child = Command::new(&exe)
        .env("LOGS_DIRECTORY", dir.path())
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the example");
    let mut child = simple_daemon_tests::Reap(child);
    let daemon_name = if name == "async_poller" {
        "Poller"
    } else {
        "MyDaemon"
    };
    let log = dir.path().join(format!("{daemon_name}.log"));
    assert!(
        simple_daemon_tests::wait_for_line(&log, ready, simple_daemon_tests::PATIENCE),
        "no {ready:?} in:\n{}",
        simple_daemon_tests::read(&log)
    );
    let sent = std::time::Instant::now();
    simple_daemon_tests::kill(child.0.id(), libc::SIGTERM);
    let st = simple_daemon_tests::wait_exit(&mut child.0, simple_daemon_tests::PATIENCE);
    Some((st.code(), sent.elapsed(), simple_daemon_tests::read(&log)))
}

/// The async poller talks to its own loopback server, and a passive stop ends the server's task
/// through `Context::stopped()` before the end.
#[test]
fn the_async_poller_example_polls_its_own_server_and_stops_passively() {
    let Some((code, took, log)) =
        run_example_until("async_poller", "poll 1: sent \"ping 1\", got \"ping 1\"")
    else {
        return;
    };
    assert_eq!(code, Some(0), "{log}");
    assert!(took < simple_daemon_tests::AT_ONCE, "took {took:?}:\n{log}");
    let at =
        |n: &str| simple_daemon_tests::position(&log, n).unwrap_or_else(|| panic!("no {n:?} in:\n{log}"));
    assert!(
        at("Received 15 signal.") < at("echo server: stop requested, closing"),
        "{log}"
    );
    assert!(at("stopped after") < at("Graceful Interrupt..."), "{log}");
}

/// The seed's aggressive loop written async: the tick is cancelled at its await, its local and
/// then the state are dropped, `on_stop` does not run.
#[test]
fn the_async_aggressive_example_cancels_its_tick_at_the_await() {
    let Some((code, took, log)) = run_example_until("async_aggressive", "sleeping 60 s in the tick") else {
        return;
    };
    assert_eq!(code, Some(0), "{log}");
    assert!(took < simple_daemon_tests::AT_ONCE, "took {took:?}:\n{log}");
    let at =
        |n: &str| simple_daemon_tests::position(&log, n).unwrap_or_else(|| panic!("no {n:?} in:\n{log}"));
    assert!(
        at("Received 15 signal.") < at("the tick's lease is released"),
        "{log}"
    );
    assert!(
        at("the tick's lease is released") < at("the daemon's state is dropped"),
        "{log}"
    );
    assert!(
        at("the daemon's state is dropped") < at("Graceful Interrupt..."),
        "{log}"
    );
    assert!(!log.contains("on_stop ran"), "{log}");
}
