//! The generated binary's command line (`__private::main`, what `#[daemon]`'s `main` calls):
//! `--print-systemd-unit`, `--help`, `--version`, and exit 64 with one sentence for anything else.

use std::path::Path;
use std::process::{Command, Output};

fn sd_daemon(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sd_daemon"))
        .args(args)
        .envs(envs.iter().copied())
        // A run would log here; none of these invocations may run the daemon.
        .env("SD_LOG_DIR", "/nonexistent/simple-daemon-cli-test")
        .output()
        .expect("run sd_daemon")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn print_systemd_unit_comes_from_the_codes_own_configuration() {
    let o = sd_daemon(
        &["--print-systemd-unit"],
        &[
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
        "WatchdogSec=1500ms".to_owned(),
        "TimeoutStopSec=35s".to_owned(),
        "[Install]".to_owned(),
        "WantedBy=multi-user.target".to_owned(),
    ] {
        assert!(unit.lines().any(|l| l == line), "no line {line:?} in:\n{unit}");
    }

    let plain = stdout(&sd_daemon(&["--print-systemd-unit"], &[]));
    assert!(!plain.contains("WatchdogSec="), "{plain}");
    assert!(!plain.contains("TimeoutStopSec="), "{plain}");
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

/// `examples/systemd/Heartbeat.service` is what the heartbeat example prints, but for
/// `ExecStart=` and the header comment (checked when the example is built, as
/// `cargo test --workspace` does).
#[test]
fn the_example_unit_file_is_what_the_example_prints() {
    let exe = Path::new(env!("CARGO_BIN_EXE_sd_daemon"))
        .parent()
        .expect("bin dir")
        .join("examples/heartbeat");
    if !exe.is_file() {
        eprintln!("SKIPPED: {} is not built", exe.display());
        return;
    }
    let printed = Command::new(&exe)
        .arg("--print-systemd-unit")
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
    assert_eq!(body(&file), body(&String::from_utf8_lossy(&printed.stdout)));
    assert!(file.contains("\nExecStart=/usr/local/bin/heartbeat\n"));
}
