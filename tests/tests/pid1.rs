//! PID 1 in a PID namespace (`unshare --pid --fork --mount-proc`), as a container without an
//! init runs the daemon: orphans are reaped, the user's own `Command::status()` still gets its
//! child's exit status, and SIGTERM stops it.

use std::process::{Command, Stdio};
use std::time::Duration;

use simple_daemon_tests::{
    kill, read, skip_or_fail, wait_exit, wait_for_line, wait_until, Reap, TempDir, PATIENCE,
};

/// Zombie children of `pid`, from the host's `/proc`.
fn zombies_of(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let Some(after) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
                return false;
            };
            let mut f = after.split_whitespace();
            f.next() == Some("Z") && f.next() == Some(pid.to_string().as_str())
        })
        .count()
}

#[test]
fn as_pid_1_it_reaps_orphans_keeps_the_users_exit_statuses_and_stops_on_sigterm() {
    let dir = TempDir::new("pid1");
    let Ok(unshare) = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_admin_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .env("SD_INTERVAL_MS", "100")
        .env("SD_ORPHANS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    else {
        skip_or_fail("unshare cannot run");
        return;
    };
    let mut unshare = Reap(unshare);
    let log = dir.path().join("AdminDaemon.log");
    if !wait_for_line(&log, "Mode: PASSIVE", PATIENCE) {
        let _ = unshare.0.kill();
        let out = unshare.0.wait_with_output_lossy();
        if skip_or_fail(&format!("unshare --pid failed: {out}")) {
            return;
        }
    }
    let text = read(&log);
    assert!(text.contains("PID: 1\n"), "{text}");
    assert!(
        text.contains("Running as PID 1: reaping orphaned children"),
        "{text}"
    );
    // The daemon's pid on the host: the child of unshare.
    let host_pid = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        unshare.0.id(),
        unshare.0.id()
    ))
    .ok()
    .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()))
    .expect("the daemon's host pid");
    // One orphan every 100 ms: without a reaper they pile up (70 after 7 s); with it, none is
    // older than the grace (5 s) plus a poll.
    assert!(
        wait_until(PATIENCE, || read(&log).contains("Reaped orphan")),
        "{}",
        read(&log)
    );
    std::thread::sleep(Duration::from_secs(3));
    let zombies = zombies_of(host_pid);
    let ticks = read(&log).matches("child status Some(3)").count();
    assert!(ticks >= 60, "ticks so far: {ticks}");
    assert!(
        zombies <= 60,
        "{zombies} zombies after {ticks} orphans: not reaped"
    );
    assert!(zombies < ticks, "{zombies} zombies after {ticks} orphans");
    let text = read(&log);
    assert!(
        !text.contains("child status error"),
        "a user's wait lost its child:\n{text}"
    );
    assert!(!text.contains("child status None"), "{text}");
    kill(host_pid, libc::SIGTERM);
    let st = wait_exit(&mut unshare.0, PATIENCE);
    assert_eq!(st.code(), Some(0));
    let text = read(&log);
    assert!(
        text.contains("Received 15 signal.") && text.ends_with("Graceful Interrupt...\n"),
        "{text}"
    );
}

trait Lossy {
    fn wait_with_output_lossy(&mut self) -> String;
}

impl Lossy for std::process::Child {
    fn wait_with_output_lossy(&mut self) -> String {
        let _ = self.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    }
}
