//! A stateful worker: state built by `new()` (which may fail), a fallible tick that uses the
//! `Context`, and the `on_reload` and `on_stop` hooks.
//!
//! It watches a spool directory (`$WORKER_SPOOL`, default `<tmp>/worker-spool`), reports how many
//! files wait there, and tells systemd the count as its status line.
//!
//! Run it: `cargo run --example worker`. Lines appear on stdout (`stream`) and in the log file
//! (`~/.local/state/Worker/Worker.log` for a normal user, `/var/log/Worker.log` for root):
//!
//! ```text
//! ... - Worker - INFO - Mode: PASSIVE
//! ... - Worker - INFO - watching /tmp/worker-spool
//! ... - Worker - INFO - pass 1: 0 file(s) waiting
//! ```
//!
//! - `kill -HUP <pid>`: the log file is re-opened and `on_reload` logs `reloaded after 3 pass(es)`.
//! - `kill -TERM <pid>`: the pass in progress ends, `on_stop` logs `stopping after 3 pass(es)`,
//!   then `Graceful Interrupt...`; exit status 0. A pass still running after `stop_timeout` (10 s)
//!   is cut short.
//! - `WORKER_SPOOL=/proc/version cargo run --example worker`: `new()` fails, the error is logged
//!   at ERROR and the process exits 1.

use std::io;
use std::path::PathBuf;

use simple_daemon::log::{info, warn};
use simple_daemon::{daemon, Context};

struct Worker {
    spool: PathBuf,
    passes: u64,
}

#[daemon(
    name = "Worker",
    interval = "5s",
    stop_timeout = "10s",
    level = "info",
    stream
)]
impl Worker {
    /// Build the state once logging is up; an `Err` is logged and the process exits 1.
    fn new() -> io::Result<Self> {
        let spool = std::env::var_os("WORKER_SPOOL")
            .map_or_else(|| std::env::temp_dir().join("worker-spool"), PathBuf::from);
        std::fs::create_dir_all(&spool)
            .map_err(|e| io::Error::new(e.kind(), format!("spool {}: {e}", spool.display())))?;
        info!("watching {}", spool.display());
        Ok(Worker { spool, passes: 0 })
    }

    /// One pass; an `Err` is logged at ERROR and the process exits 1.
    fn tick(&mut self, ctx: &Context) -> io::Result<()> {
        self.passes += 1;
        let waiting = std::fs::read_dir(&self.spool)?.count();
        info!("pass {}: {waiting} file(s) waiting", self.passes);
        ctx.status(&format!("{waiting} file(s) waiting"));
        if ctx.interrupted() {
            warn!("stop requested: finishing pass {}", self.passes);
        }
        Ok(())
    }

    /// SIGHUP.
    fn on_reload(&mut self) {
        info!("reloaded after {} pass(es)", self.passes);
    }

    /// After a passive stop.
    fn on_stop(&mut self) {
        info!("stopping after {} pass(es)", self.passes);
    }
}
