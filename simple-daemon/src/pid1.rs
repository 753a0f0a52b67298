//! PID 1 in a container without an init: reap orphaned children.
//!
//! When the daemon is process 1 of its PID namespace, every orphan of the container is
//! re-parented to it and stays a zombie until it is waited for. A thread of this module reaps
//! them, checking twice a second.
//!
//! The trade-off: a zombie cannot tell whether it was an orphan or a child the user's code
//! spawned and will wait for (`Command::status()`, `output()`, `Child::wait()`): both are our
//! children. Reaping every zombie at once (`waitpid(-1)`) would steal the exit status of the
//! user's own children (their `wait` would fail with ECHILD). So a zombie is reaped only once it
//! has stayed a zombie for [`GRACE`]: `Command::status()` and `output()`, and a `wait()` within
//! [`GRACE`] of the child's end, get their status as always; a child the user leaves unwaited
//! for longer after it ended is reaped here, and a later `wait()`/`try_wait()` on it fails
//! with ECHILD. The zombies are found in `/proc` (state `Z`, parent 1) when `/proc` is the
//! namespace's own; otherwise the first zombie `waitid(P_ALL, WNOWAIT)` shows is the one
//! watched, so several zombies are reaped one [`GRACE`] after another.
//!
//! SIGINT and SIGTERM need nothing here: PID 1 ignores a signal without a handler, and the
//! daemon installs handlers for both, so they stop it as under systemd.

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

/// How long a zombie stays before it is reaped.
pub(crate) const GRACE: Duration = Duration::from_secs(5);
/// How often zombies are looked for.
const POLL: Duration = Duration::from_millis(500);

/// Start the reaper when this process is PID 1.
pub(crate) fn start() {
    if std::process::id() != 1 {
        return;
    }
    let spawned = thread::Builder::new()
        .name("simple-daemon-reaper".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            let mut seen: HashMap<i32, Instant> = HashMap::new();
            loop {
                thread::sleep(POLL);
                reap_settled(&mut seen, Instant::now());
            }
        });
    match spawned {
        Ok(_) => log::info!("Running as PID 1: reaping orphaned children (after {GRACE:?} as zombies)"),
        Err(e) => log::warn!("Running as PID 1, but cannot start the reaper of orphans: {e}"),
    }
}

/// Reap the zombies that have been zombies for [`GRACE`]; note the new ones.
fn reap_settled(seen: &mut HashMap<i32, Instant>, now: Instant) {
    let zombies = proc_zombies().unwrap_or_else(|| peek_zombie().into_iter().collect());
    seen.retain(|pid, _| zombies.contains(pid));
    for pid in zombies {
        let since = *seen.entry(pid).or_insert(now);
        if now.saturating_duration_since(since) >= GRACE {
            let mut status = 0;
            // SAFETY: waitpid writes the status into our local; WNOHANG never blocks.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if rc == pid {
                log::debug!("Reaped orphan {pid}");
            }
            seen.remove(&pid);
        }
    }
}

/// Our zombie children, from `/proc`, when `/proc` is this namespace's (`/proc/self` is 1).
fn proc_zombies() -> Option<Vec<i32>> {
    let me = std::fs::read_link("/proc/self").ok()?;
    if me.as_os_str() != "1" {
        return None;
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
            continue;
        };
        let mut f = after.split_whitespace();
        if let (Some("Z"), Some("1")) = (f.next(), f.next()) {
            out.push(pid);
        }
    }
    Some(out)
}

/// The first zombie child, without reaping it.
fn peek_zombie() -> Option<i32> {
    // SAFETY: an all-zero siginfo_t is valid; waitid fills it in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes into our local; WNOHANG | WNOWAIT neither blocks nor reaps.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: after a successful waitid with WEXITED the pid field is the one set.
    let pid = unsafe { info.si_pid() };
    (rc == 0 && pid > 0).then_some(pid)
}
