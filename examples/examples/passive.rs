//! The seed's passive loop: work once a minute; a stop lets the work in progress finish.
//!
//! Run it: `cargo run --example passive`. Lines appear on stdout (`stream`) and in the log file
//! (`~/.local/state/MyDaemon/MyDaemon.log` for a normal user, `/var/log/MyDaemon.log` for root):
//!
//! ```text
//! 2018-11-27 13:47:59,971 - MyDaemon - INFO - PID: 9215
//! 2018-11-27 13:47:59,972 - MyDaemon - DEBUG - Set signal handler: 2
//! 2018-11-27 13:47:59,972 - MyDaemon - DEBUG - Set signal handler: 15
//! 2018-11-27 13:47:59,972 - MyDaemon - INFO - Mode: PASSIVE
//! 2018-11-27 13:47:59,972 - MyDaemon - INFO - pass 1: working
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C) logs `Received 15 signal.` and `interrupted == True`; the pass
//! in progress runs to its end, the wait for the next one is cut short at once (the Python seed
//! slept its whole minute), then `Graceful Interrupt...` is logged and the process exits 0.

use std::time::Duration;

use simple_daemon::daemon;
use simple_daemon::log::info;

#[derive(Default)]
struct Passive {
    passes: u64,
}

#[daemon(name = "MyDaemon", mode = "passive", interval = "60s", stream)]
impl Passive {
    fn tick(&mut self) {
        self.passes += 1;
        info!("pass {}: working", self.passes);
        // Work that must not be cut in half: a stop waits for it.
        std::thread::sleep(Duration::from_millis(500));
        info!("pass {}: done", self.passes);
    }
}
