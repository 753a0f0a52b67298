//! The seed's hand-written loop, without the macro: `with SimpleDaemon('MyDaemon') as sdh:`.
//!
//! Run it: `cargo run --example guard_loop`. Lines appear on stdout (`stream`) and in the log
//! file (`~/.local/state/MyDaemon/MyDaemon.log` for a normal user, `/var/log/MyDaemon.log` for
//! root):
//!
//! ```text
//! ... - MyDaemon - INFO - PID: 9215
//! ... - MyDaemon - DEBUG - Set signal handler: 2
//! ... - MyDaemon - DEBUG - Set signal handler: 15
//! ... - MyDaemon - INFO - Mode: PASSIVE
//! ... - MyDaemon - INFO - working
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C): `Received 15 signal.` and `interrupted == True`; the 60 s
//! sleep returns at once, the loop ends, and dropping the guard logs `Graceful Interrupt...`;
//! exit status 0. A configuration that cannot work is reported on stderr, exit status 78.

use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{Exit, Mode, SimpleDaemon};

fn main() -> Exit {
    let daemon = match SimpleDaemon::new("MyDaemon")
        .mode(Mode::Passive)
        .stream(true)
        .start()
    {
        Ok(daemon) => daemon,        // logs PID, the signal handlers and the mode
        Err(e) => return e.report(), // `guard_loop: <sentence>` on stderr, exit status 78
    };
    while !daemon.interrupted() {
        info!("working");
        daemon.sleep(Duration::from_secs(60)); // returns at once when a stop is requested
    }
    drop(daemon); // logs "Graceful Interrupt..."
    Exit::Stopped
}
