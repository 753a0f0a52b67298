//! The design card's worker: a beat every 2 seconds, stopped at once by SIGINT/SIGTERM.
//!
//! Run it: `cargo run --example heartbeat` (no root, no configuration). Lines appear on stdout
//! (`stream`) and in the log file: `$XDG_STATE_HOME/Heartbeat/Heartbeat.log`
//! (`~/.local/state/Heartbeat/Heartbeat.log`) for a normal user, `/var/log/Heartbeat.log` for
//! root. Expect:
//!
//! ```text
//! 2018-11-27 13:47:59,971 - Heartbeat - INFO - PID: 4242
//! 2018-11-27 13:47:59,972 - Heartbeat - DEBUG - Set signal handler: 2
//! 2018-11-27 13:47:59,972 - Heartbeat - DEBUG - Set signal handler: 15
//! 2018-11-27 13:47:59,972 - Heartbeat - INFO - Mode: AGGRESSIVE
//! 2018-11-27 13:47:59,972 - Heartbeat - INFO - beat 1
//! 2018-11-27 13:48:01,972 - Heartbeat - INFO - beat 2
//! ```
//!
//! Stop it with Ctrl-C or `kill -TERM <pid>`: `Received 15 signal.` and `Graceful Interrupt...`
//! are logged and it exits 0 at once, even in the middle of a tick. See the code the attribute
//! writes with `cargo expand -p simple-daemon-examples --example heartbeat` (`cargo install cargo-expand` first).

use simple_daemon::daemon;

#[derive(Default)]
struct Heartbeat {
    beats: u64,
}

#[daemon(name = "Heartbeat", mode = "aggressive", interval = "2s", stream)]
impl Heartbeat {
    fn tick(&mut self) {
        self.beats += 1;
        simple_daemon::log::info!("beat {}", self.beats);
    }
}
