//! Live reload of the operator's file on SIGHUP (feature `config`), on a real `conf_daemon` with a
//! real notify socket: a valid file is applied (one INFO line saying what changed, then
//! `on_reload` with the new settings, then `READY=1`); a key that cannot change live is one WARN
//! and stays; an invalid file is one ERROR naming the line and column, the daemon ticks on with
//! its old configuration and still says `READY=1`; the file sink moves with `log_name`; a stop
//! during a reload stops as promised.

mod fault_common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use fault_common::NotifyPeer;
use simple_daemon_tests::{lines_with, read, wait_for_line, wait_until, Spawned, TempDir, PATIENCE};

const BIN: &str = env!("CARGO_BIN_EXE_conf_daemon");

struct Running {
    d: Spawned,
    file: PathBuf,
    notify: NotifyPeer,
}

fn start(tag: &str, text: &str, log_name: &str) -> Running {
    let dir = TempDir::new(tag);
    let file = dir.path().join("conf.toml");
    std::fs::write(&file, text).expect("write the file");
    let notify = NotifyPeer::bind(dir.path());
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .env("LOGS_DIRECTORY", dir.path())
        .env("NOTIFY_SOCKET", &notify.path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn conf_daemon");
    let d = Spawned::new(child, dir.path().join(log_name), dir);
    d.wait_line("greeting ");
    assert!(
        wait_until(PATIENCE, || notify.drain().iter().any(|m| m.contains("READY=1"))),
        "no READY=1 at start"
    );
    Running { d, file, notify }
}

impl Running {
    /// Write `text`, send SIGHUP, and wait for the reload to end (`READY=1`); the datagrams.
    fn reload(&self, text: &str) -> Vec<String> {
        std::fs::write(&self.file, text).expect("rewrite the file");
        self.d.signal(libc::SIGHUP);
        let mut got = Vec::new();
        assert!(
            wait_until(PATIENCE, || {
                got.extend(self.notify.drain());
                got.iter().any(|m| m.contains("READY=1"))
            }),
            "no READY=1 after the reload: {got:?}\n{}",
            read(&self.d.log)
        );
        got
    }

    fn greetings(&self, greeting: &str) -> usize {
        lines_with(&self.d.log, &format!("greeting {greeting} x")).len()
    }
}

fn stop(r: Running) -> String {
    let (code, log) = r.d.stop_within(libc::SIGTERM, Duration::from_secs(5));
    assert_eq!(code, 0, "{log}");
    log
}

const ONE: &str =
    "level = \"info\"\ninterval = \"200ms\"\nlog_name = \"c.log\"\n[settings]\ngreeting = \"one\"\n";
const TWO: &str = "level = \"debug\"\ninterval = \"100ms\"\nlog_name = \"c.log\"\n[settings]\ngreeting = \"two\"\nrepeat = 2\n";

#[test]
fn a_valid_file_is_applied_live_then_on_reload_runs_then_ready() {
    let r = start("reload-good", ONE, "c.log");
    let told = r.reload(TWO);
    assert!(told.iter().any(|m| m.contains("RELOADING=1")), "{told:?}");
    assert!(
        wait_for_line(&r.d.log, "greeting two x2", PATIENCE),
        "{}",
        read(&r.d.log)
    );
    let f = r.file.display().to_string();
    let log = stop(r);
    let reloaded =
        format!("INFO - Reloaded {f}: interval 200ms -> 100ms, level info -> debug, [settings] changed\n");
    assert_eq!(log.matches(&reloaded).count(), 1, "{log}");
    let hook = log
        .find("settings reloaded: greeting two")
        .expect("on_reload ran with the new settings");
    assert!(
        log.find(&reloaded).expect("the line") < hook,
        "the INFO line comes before on_reload:\n{log}"
    );
    // The new level is in force: the schedule's DEBUG line (`RunTimeLoop`) appears after it.
    let after = &log[hook..];
    assert!(after.contains("DEBUG - RunTimeLoop:"), "{log}");
    assert!(
        !log[..hook].contains("DEBUG - "),
        "debug lines before the reload:\n{log}"
    );
}

#[test]
fn an_invalid_file_is_refused_with_one_error_and_the_daemon_runs_on() {
    let r = start("reload-bad", ONE, "c.log");
    let told = r.reload("level = \"debug\"\nintreval = \"1s\"\n[settings]\ngreeting = \"broken\"\n");
    assert!(told.iter().any(|m| m.contains("RELOADING=1")), "{told:?}");
    let before = r.greetings("one");
    assert!(
        wait_until(PATIENCE, || r.greetings("one") >= before + 3),
        "the ticks stopped after a refused reload:\n{}",
        read(&r.d.log)
    );
    let log = stop(r);
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" - ERROR - ")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("Reload refused: configuration file"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("line 2, column 1: unknown key \"intreval\"; did you mean \"interval\"?"),
        "{}",
        errors[0]
    );
    assert!(!log.contains("greeting broken"), "{log}");
    assert!(
        !log.contains("settings reloaded"),
        "on_reload ran for a refused file:\n{log}"
    );
    assert!(!log.contains("DEBUG - "), "the refused level was applied:\n{log}");
}

#[test]
fn a_key_that_cannot_change_live_is_one_warn_and_waits_for_a_restart() {
    let r = start("reload-restart", ONE, "c.log");
    r.reload(&format!(
        "mode = \"aggressive\"\nworker_threads = 3\n{}",
        ONE.replace("\"one\"", "\"three\"")
    ));
    assert!(
        wait_for_line(&r.d.log, "greeting three", PATIENCE),
        "{}",
        read(&r.d.log)
    );
    let log = stop(r);
    let f_warns: Vec<&str> = log.lines().filter(|l| l.contains(" - WARN - ")).collect();
    assert_eq!(f_warns.len(), 2, "{log}");
    assert!(
        f_warns[0].contains(": mode passive -> aggressive needs a restart: it stays passive until then"),
        "{log}"
    );
    assert!(
        f_warns[1].contains(": worker_threads none -> 3 needs a restart"),
        "{log}"
    );
    assert!(
        log.contains("INFO - Reloaded ") && log.contains(": [settings] changed\n"),
        "{log}"
    );
    // Still passive: the seed's passive stop lines.
    assert!(log.contains("interrupted == True"), "{log}");
}

#[test]
fn the_file_sink_moves_with_log_name_and_log_path() {
    let r = start("reload-move", ONE, "c.log");
    let dir = r.d.log.parent().expect("the log's directory").to_path_buf();
    // Outside the daemon's directory, which goes with it at the stop.
    let elsewhere = TempDir::new("reload-moved");
    let moved_dir = elsewhere.path().join("moved");
    r.reload(&ONE.replace(
        "log_name = \"c.log\"",
        &format!("log_name = \"m.log\"\nlog_path = \"{}\"", moved_dir.display()),
    ));
    let moved = moved_dir.join("m.log");
    assert!(
        wait_for_line(&moved, "greeting one", PATIENCE),
        "{}",
        read(&moved)
    );
    let old = read(&r.d.log);
    assert!(
        old.contains(&format!("logging to {} from now on", moved.display())),
        "{old}"
    );
    let new = read(&moved);
    assert!(
        new.contains(&format!("log_path none -> {}", moved_dir.display())),
        "{new}"
    );
    assert!(new.contains("log_name c.log -> m.log"), "{new}");
    let (code, old) = r.d.stop_within(libc::SIGTERM, Duration::from_secs(5));
    assert_eq!(code, 0);
    let new = read(&moved);
    assert!(new.ends_with("Graceful Interrupt...\n"), "{new}");
    assert!(
        !old.contains("Graceful Interrupt"),
        "the old file got lines after the move:\n{old}"
    );
    drop(dir);
}

#[test]
fn a_stop_during_a_reload_stops_as_promised() {
    let r = start("reload-stop", ONE, "c.log");
    std::fs::write(&r.file, TWO).expect("rewrite");
    r.d.signal(libc::SIGHUP);
    let (code, log) = r.d.stop_within(libc::SIGTERM, Duration::from_secs(2));
    assert_eq!(code, 0, "{log}");
    assert!(log.ends_with("Graceful Interrupt...\n"), "{log}");
}

#[test]
fn an_async_daemon_reloads_its_file_and_settings_too() {
    let dir = TempDir::new("reload-async");
    let file = dir.path().join("a.toml");
    std::fs::write(&file, "interval = \"100ms\"\n[settings]\ngreeting = \"one\"\n").expect("write");
    let notify = NotifyPeer::bind(dir.path());
    let child = Command::new(env!("CARGO_BIN_EXE_conf_async_daemon"))
        .arg("--config")
        .arg(&file)
        .env("LOGS_DIRECTORY", dir.path())
        .env("NOTIFY_SOCKET", &notify.path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn conf_async_daemon");
    let d = Spawned::new(child, dir.path().join("ConfAsync.log"), dir);
    d.wait_line("greeting one");
    let r = Running { d, file, notify };
    r.reload("interval = \"50ms\"\nlevel = \"info\"\n[settings]\ngreeting = \"two\"\n");
    assert!(
        wait_for_line(&r.d.log, "greeting two", PATIENCE),
        "{}",
        read(&r.d.log)
    );
    r.reload("interval = = 1\n");
    let f = r.file.display().to_string();
    let log = stop(r);
    assert!(
        log.contains(&format!(
            "INFO - Reloaded {f}: interval 100ms -> 50ms, level debug -> info, [settings] changed\n"
        )),
        "{log}"
    );
    assert!(log.contains("settings reloaded: greeting two"), "{log}");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" - ERROR - Reload refused: "))
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("line 1, column 12"), "{}", errors[0]);
}
