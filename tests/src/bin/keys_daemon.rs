//! A `#[daemon]` binary whose keys can be seen at run time, for `tests/keys.rs`: the expansion
//! snapshots show that each key reaches the builder; this shows that each one takes effect.
//!
//! It logs in the working directory (`log_path = "."`), as `keys.log`, with its own format, at
//! `info` (so `debug!` lines and the seed's DEBUG lines are filtered out), rotating at 4 KiB
//! and keeping 3 backups, also on stdout, one tick every 10 ms. Each tick logs one `debug!`, one
//! `info!` of about 230 bytes and, every tenth, one `warn!`; tick 100 asks for a stop
//! (SIGTERM to itself), so the process ends on its own, in passive mode, with exit 0.

use simple_daemon::daemon;
use simple_daemon::log::{debug, info, warn};

#[derive(Default)]
struct Keys {
    n: u64,
}

/// The tick that asks for the stop.
const LAST: u64 = 100;

#[daemon(
    name = "KeysDaemon",
    level = "info",
    log_path = ".",
    log_name = "keys.log",
    log_format = "{level}|{name}|{pid}|{target}|{message}",
    max_log_size = "4KiB",
    max_log_files = 3,
    interval = "10ms",
    stream
)]
impl Keys {
    fn tick(&mut self) {
        self.n += 1;
        let n = self.n;
        debug!("tick {n} debug, filtered by level = \"info\"");
        info!("tick {n} {}", "x".repeat(200));
        if n.is_multiple_of(10) {
            warn!("tick {n} warn");
        }
        if n == LAST {
            // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        }
    }
}
