//! A daemon built with `panic = "abort"`: the panic is logged, message and location, before the
//! process aborts.
//!
//! The fixture (`tests/fixtures/abort_daemon/main.rs`) is its own one-crate workspace with
//! `[profile.dev] panic = "abort"`, built offline with this workspace's `Cargo.lock` into
//! `target/fault-fixtures/` (its own target directory, so the rest of the build is never
//! recompiled; a second run only checks it is up to date).

mod fault_common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use fault_common::{record, target_dir};
use simple_daemon_tests::{read, wait_exit, TempDir, PATIENCE};

fn build_fixture() -> std::path::PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let root = target_dir().join("fault-fixtures");
    let krate = root.join("abort_daemon");
    std::fs::create_dir_all(krate.join("src")).expect("fixture dir");
    let manifest = format!(
        "[package]\nname = \"abort_daemon\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nsimple-daemon = {{ path = {:?} }}\n\n\
         [profile.dev]\npanic = \"abort\"\n\n[workspace]\n",
        ws.join("simple-daemon").display().to_string()
    );
    let write_if_changed = |path: &Path, text: &[u8]| {
        if std::fs::read(path).ok().as_deref() != Some(text) {
            std::fs::write(path, text).expect("write fixture");
        }
    };
    write_if_changed(&krate.join("Cargo.toml"), manifest.as_bytes());
    write_if_changed(
        &krate.join("src/main.rs"),
        &std::fs::read(ws.join("tests/fixtures/abort_daemon/main.rs")).expect("fixture source"),
    );
    if !krate.join("Cargo.lock").exists() {
        std::fs::copy(ws.join("Cargo.lock"), krate.join("Cargo.lock")).expect("copy Cargo.lock");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building the panic=abort fixture failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join("target/debug/abort_daemon")
}

#[test]
fn a_panic_in_a_daemon_built_with_panic_abort_is_logged_before_the_abort() {
    let exe = build_fixture();
    let dir = TempDir::new("abort");
    let mut child = Command::new(&exe)
        .env("SD_LOG_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the fixture");
    let st = wait_exit(&mut child, PATIENCE);
    let log = read(&dir.path().join("AbortDaemon.log"));
    assert_eq!(st.signal(), Some(libc::SIGABRT), "{st:?}\n{log}");
    let at = log
        .lines()
        .position(|l| l.contains("AbortDaemon - ERROR - thread 'main' panicked at src/main.rs:"))
        .unwrap_or_else(|| panic!("no panic line:\n{log}"));
    assert!(
        log.lines()
            .nth(at + 1)
            .is_some_and(|l| l == "tick 2 found the queue corrupted"),
        "the message follows the location:\n{log}"
    );
    assert!(
        log.contains("tick 1 start") && log.contains("tick 2 start"),
        "{log}"
    );
    record(
        "panic in tick, built with panic = \"abort\"",
        1,
        3,
        log.lines()
            .filter(|l| l.contains("tick 1 start") || l.contains("tick 2 start") || l.contains("panicked at"))
            .count() as u64,
        "logged with message and location, then SIGABRT",
    );
}
