//! The seed's aggressive loop: a stop ends the process at once, even inside a blocking tick.
//!
//! Run it: `cargo run --example aggressive`. Lines appear on stdout (`stream`) and in the log file
//! (`~/.local/state/MyDaemon/MyDaemon.log` for a normal user, `/var/log/MyDaemon.log` for root):
//!
//! ```text
//! 2018-11-27 13:57:16,124 - MyDaemon - INFO - PID: 9450
//! 2018-11-27 13:57:16,125 - MyDaemon - DEBUG - Set signal handler: 2
//! 2018-11-27 13:57:16,125 - MyDaemon - DEBUG - Set signal handler: 15
//! 2018-11-27 13:57:16,125 - MyDaemon - INFO - Mode: AGGRESSIVE
//! 2018-11-27 13:57:16,125 - MyDaemon - INFO - sleeping 60 s in the tick
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C) logs `Received 15 signal.` and `Graceful Interrupt...` and the
//! process exits 0 within milliseconds, without waiting for the tick's 60 s sleep to end.

use std::time::Duration;

use simple_daemon::daemon;
use simple_daemon::log::info;

#[derive(Default)]
struct Aggressive;

#[daemon(name = "MyDaemon", mode = "aggressive", stream)]
impl Aggressive {
    fn tick(&mut self) {
        // The seed's `sp(60)`: work that blocks and cannot be interrupted from outside.
        info!("sleeping 60 s in the tick");
        std::thread::sleep(Duration::from_secs(60));
    }
}
