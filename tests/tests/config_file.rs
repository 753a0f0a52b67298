//! The operator's configuration file (feature `config`) on real processes: `conf_daemon`, a
//! `#[daemon]` with `config = "..."` whose `new` takes its `[settings]`.
//!
//! Precedence (built-in, then the file, then `RUST_LOG`), the attribute's path when it exists,
//! `--config` over it, the start line naming the file, `--check-config` (exit 0 with each value's
//! origin, or 78 naming the file, line and column, writing nothing), the exit-78 sentences of a
//! start, and two instances of one template unit with their own files and logs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use simple_daemon_tests::{Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_conf_daemon");
/// The attribute's `config = "..."` of `conf_daemon`.
const ATTRIBUTE_FILE: &str = "/tmp/simple-daemon-tests-conf/ConfDaemon.toml";

fn command(dir: &Path, args: &[&str], rust_log: Option<&str>) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("LOGS_DIRECTORY", dir.join("logs"))
        .env_remove("NOTIFY_SOCKET");
    match rust_log {
        Some(v) => c.env("RUST_LOG", v),
        None => c.env_remove("RUST_LOG"),
    };
    c
}

fn output(dir: &Path, args: &[&str], rust_log: Option<&str>) -> Output {
    command(dir, args, rust_log).output().expect("run conf_daemon")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write the configuration file");
    p
}

/// Start `conf_daemon` with `args`, its log (`log_name` of the file) in `dir/logs`.
fn start(dir: TempDir, args: &[&str], rust_log: Option<&str>, log_name: &str) -> Spawned {
    let log = dir.path().join("logs").join(log_name);
    let child = command(dir.path(), args, rust_log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn conf_daemon");
    let d = Spawned::new(child, log, dir);
    d.wait_line("greeting ");
    d
}

fn stop(d: Spawned) -> String {
    let (code, log) = d.stop_within(libc::SIGTERM, std::time::Duration::from_secs(5));
    assert_eq!(code, 0, "{log}");
    log
}

const FILE: &str =
    "level = \"info\"\nlog_name = \"conf.log\"\n\n[settings]\ngreeting = \"hello\"\nrepeat = 3\n";

#[test]
fn the_files_keys_are_over_the_built_in_ones_and_rust_log_over_the_level() {
    let dir = TempDir::new("conf-precedence");
    let file = write(dir.path(), "conf.toml", FILE);
    let file_arg = file.to_str().expect("utf-8 path");
    let d = start(dir, &["--config", file_arg], None, "conf.log");
    let log = stop(d);
    assert!(
        log.contains(&format!("INFO - Configuration file: {file_arg}\n")),
        "{log}"
    );
    assert!(log.contains("INFO - Log level: info\n"), "{log}");
    // The settings reached `new`.
    assert!(log.contains("INFO - greeting hello x3"), "{log}");

    let dir = TempDir::new("conf-rust-log");
    let file = write(dir.path(), "conf.toml", FILE);
    let d = start(
        dir,
        &["--config", file.to_str().expect("utf-8")],
        Some("trace"),
        "conf.log",
    );
    let log = stop(d);
    assert!(log.contains("INFO - Log level: trace (from RUST_LOG)\n"), "{log}");
}

#[test]
fn check_config_prints_each_value_with_its_origin_and_writes_nothing() {
    let dir = TempDir::new("conf-check");
    let file = write(dir.path(), "conf.toml", &format!("interval = \"2s\"\n{FILE}"));
    let f = file.to_str().expect("utf-8");
    let o = output(dir.path(), &["--config", f, "--check-config"], Some("debug"));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for (key, value, origin) in [
        ("name", "\"ConfDaemon\"", "built-in"),
        ("interval", "\"2s\"", "file"),
        ("level", "\"debug\"", "RUST_LOG"),
        ("log_name", "\"conf.log\"", "file"),
        ("max_log_files", "2", "built-in"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in:\n{out}"));
        assert!(line.contains(&format!("{key} = {value} ")), "{line}");
        assert!(line.contains(&format!("# {origin}")), "{line}");
    }
    assert!(out.contains(&format!("# configuration file: {f}\n")), "{out}");
    assert!(
        out.contains("[settings] # file\ngreeting = \"hello\"\nrepeat = 3\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "# log file: {}",
            dir.path().join("logs/conf.log").display()
        )),
        "{out}"
    );
    // Nothing written: not even the log directory was created.
    assert!(
        !dir.path().join("logs").exists(),
        "--check-config created the log directory"
    );

    // The same mistakes a start refuses: 78, one sentence naming the file, line and column.
    let bad = write(dir.path(), "bad.toml", "level = \"info\"\nintreval = \"1s\"\n");
    let o = output(
        dir.path(),
        &["--config", bad.to_str().expect("utf-8"), "--check-config"],
        None,
    );
    assert_eq!(o.status.code(), Some(78));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "configuration file \"{}\", line 2, column 1: unknown key \"intreval\"; did you mean \"interval\"?",
            bad.display()
        )),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    assert!(!dir.path().join("logs").exists());

    // A log directory a start could not use is caught too.
    let not_dir = write(dir.path(), "a-file", "");
    let ro = write(
        dir.path(),
        "ro.toml",
        &format!("log_path = \"{}/logs\"\n{FILE}", not_dir.display()),
    );
    let o = output(
        dir.path(),
        &["--config", ro.to_str().expect("utf-8"), "--check-config"],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("log_path \"{}\" is not a directory", not_dir.display())),
        "{err}"
    );
}

#[test]
fn a_start_refuses_each_mistake_with_exit_78_and_one_sentence_naming_the_line() {
    let dir = TempDir::new("conf-78");
    let cases = [
        ("level = \"info\"\ninterval = = \"1s\"\n", "line 2, column 12: "),
        (
            "mdoe = \"aggressive\"\n",
            "line 1, column 1: unknown key \"mdoe\"; did you mean \"mode\"?",
        ),
        (
            "interval = \"5\"\n",
            "line 1, column 12: invalid interval: duration \"5\" has no unit: write \"5s\"",
        ),
        (
            "max_log_files = 0\n",
            "line 1, column 17: invalid max_log_files: must be at least 1",
        ),
        (
            "level = \"info,hyper=warning\"\n",
            "line 1, column 9: invalid level \"info,hyper=warning\"",
        ),
        (
            "[settings]\ngreeting = 5\n",
            "line 2, column 12: [settings]: invalid type: integer `5`, expected a string",
        ),
        (
            "[settings]\nrepeat = 2\n",
            "line 1, column 1: [settings]: missing field `greeting`",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("c{i}.toml"), text);
        let o = output(dir.path(), &["--config", file.to_str().expect("utf-8")], None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(78), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "conf_daemon: configuration file \"{}\", ",
                file.display()
            )),
            "{err}"
        );
        assert!(err.contains(expected), "{text}:\n{err}\nexpected {expected:?}");
        assert!(
            !dir.path().join("logs").exists(),
            "{text}: a log directory was created"
        );
    }
    let missing = dir.path().join("missing.toml");
    let o = output(dir.path(), &["--config", missing.to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(78));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("config \"") && err.contains("cannot be read as the configuration file"),
        "{err}"
    );
}

#[test]
fn the_attributes_file_is_read_when_it_exists_and_config_replaces_it() {
    let attribute = Path::new(ATTRIBUTE_FILE);
    let parent = attribute.parent().expect("a directory");
    std::fs::create_dir_all(parent).expect("create the attribute's directory");
    let _ = std::fs::remove_file(attribute);

    // No file: the built-in configuration, and the settings (which need a greeting) cannot be
    // read: one sentence, 78.
    let dir = TempDir::new("conf-attr-none");
    let o = output(dir.path(), &[], None);
    assert_eq!(o.status.code(), Some(78));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{ATTRIBUTE_FILE} does not exist")) && err.contains("missing field `greeting`"),
        "{err}"
    );

    // The attribute's file, once it exists.
    std::fs::write(
        attribute,
        "log_name = \"attr.log\"\n[settings]\ngreeting = \"from the attribute\"\n",
    )
    .expect("write the attribute's file");
    let dir = TempDir::new("conf-attr");
    let log = stop(start(dir, &[], None, "attr.log"));
    assert!(
        log.contains(&format!("INFO - Configuration file: {ATTRIBUTE_FILE}\n")),
        "{log}"
    );
    assert!(log.contains("greeting from the attribute"), "{log}");
    assert!(log.contains("INFO - Log level: debug\n"), "built-in level: {log}");

    // --config replaces it.
    let dir = TempDir::new("conf-attr-cli");
    let file = write(dir.path(), "cli.toml", FILE);
    let log = stop(start(
        dir,
        &["--config", file.to_str().expect("utf-8")],
        None,
        "conf.log",
    ));
    assert!(log.contains("greeting hello"), "{log}");
    assert!(!log.contains("from the attribute"), "{log}");
    let _ = std::fs::remove_file(attribute);
}

#[test]
fn two_template_instances_have_their_own_names_and_logs() {
    let dir = TempDir::new("conf-template");
    let logs = dir.path().join("logs");
    let mut daemons = Vec::new();
    for i in 1..=2 {
        let file = write(
            dir.path(),
            &format!("{i}.toml"),
            &format!("name = \"worker-{i}\"\nlog_name = \"worker-{i}.log\"\n[settings]\ngreeting = \"instance {i}\"\n"),
        );
        let child = command(dir.path(), &["--config", file.to_str().expect("utf-8")], None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn an instance");
        daemons.push(simple_daemon_tests::Reap(child));
    }
    for i in 1..=2 {
        let log = logs.join(format!("worker-{i}.log"));
        assert!(simple_daemon_tests::wait_for_line(
            &log,
            "greeting ",
            simple_daemon_tests::PATIENCE
        ));
    }
    for d in &daemons {
        simple_daemon_tests::kill(d.0.id(), libc::SIGTERM);
    }
    for mut d in daemons {
        let st = simple_daemon_tests::wait_exit(&mut d.0, simple_daemon_tests::PATIENCE);
        assert_eq!(st.code(), Some(0));
    }
    for i in 1..=2 {
        let log = simple_daemon_tests::read(&logs.join(format!("worker-{i}.log")));
        let other = 3 - i;
        assert!(
            log.contains(&format!(" - worker-{i} - INFO - greeting instance {i}")),
            "{log}"
        );
        assert!(
            !log.contains(&format!("worker-{other}")),
            "instance {i} logged the other's lines: {log}"
        );
    }
    drop(dir);
}

#[test]
fn the_printed_unit_runs_with_the_file_and_checks_it_before_a_reload() {
    let dir = TempDir::new("conf-unit");
    let file = write(dir.path(), "conf.toml", FILE);
    let o = output(
        dir.path(),
        &["--config", file.to_str().expect("utf-8"), "--print-systemd-unit"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let unit = String::from_utf8_lossy(&o.stdout);
    let exe = std::fs::canonicalize(BIN).expect("the binary's path");
    let start = format!("ExecStart={} --config {}", exe.display(), file.display());
    let check = format!(
        "ExecReload={} --config {} --check-config",
        exe.display(),
        file.display()
    );
    let lines: Vec<&str> = unit.lines().collect();
    let at = |l: &str| {
        lines
            .iter()
            .position(|x| *x == l)
            .unwrap_or_else(|| panic!("no {l:?} in:\n{unit}"))
    };
    at(&start);
    // The check first: a broken file fails `systemctl reload` before any signal is sent.
    assert!(at(&check) < at("ExecReload=/bin/kill -HUP $MAINPID"), "{unit}");

    // What that ExecReload= line runs: 0 for the good file, 78 for a broken one.
    let run_check = || {
        Command::new(&exe)
            .args(["--config", file.to_str().expect("utf-8"), "--check-config"])
            .env("LOGS_DIRECTORY", dir.path().join("logs"))
            .output()
            .expect("run the check")
    };
    assert_eq!(run_check().status.code(), Some(0));
    std::fs::write(&file, FILE.replace("level = \"info\"", "interval = \"5\"")).expect("break the file");
    let o = run_check();
    assert_eq!(o.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 1, column 12: invalid interval"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `examples/systemd/worker@.service` runs and reloads as the printed unit does, with the
/// instance's file `/etc/worker/%i.toml` and its own log directory.
#[test]
fn the_template_unit_runs_and_reloads_as_the_printed_unit() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/systemd/worker@.service"
    ))
    .expect("read the template unit");
    let dir = TempDir::new("conf-template-unit");
    let file = write(dir.path(), "1.toml", FILE);
    let o = output(
        dir.path(),
        &["--config", file.to_str().expect("utf-8"), "--print-systemd-unit"],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let exe = std::fs::canonicalize(BIN).expect("the binary's path");
    let printed = String::from_utf8_lossy(&o.stdout)
        .replace(&exe.display().to_string(), "/usr/local/bin/worker")
        .replace(&file.display().to_string(), "/etc/worker/%i.toml");
    let exec = |unit: &str| -> Vec<String> {
        unit.lines()
            .filter(|l| l.starts_with("Exec") || l.starts_with("Type=") || l.starts_with("RestartPrevent"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        exec(&template),
        exec(&printed),
        "template:\n{template}\nprinted:\n{printed}"
    );
    assert!(
        template.lines().any(|l| l == "LogsDirectory=worker/%i"),
        "{template}"
    );
}
