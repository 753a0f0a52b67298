//! A daemon type that lives in a library, the layout `SimpleDaemon::main` is for: the type and
//! its `impl Daemon` here (where tests and other binaries can use them), the binary's `main` in
//! `src/bin/lib_daemon.rs`.
//!
//! ```
//! use simple_daemon::{Context, Daemon};
//! use simple_daemon_tests::poller::Poller;
//!
//! let mut p = Poller::new().unwrap();
//! p.tick(&Context::detached("Poller")).unwrap();
//! assert_eq!(p.polls(), 1);
//! ```

use simple_daemon::log::info;
use simple_daemon::{Context, Daemon};

/// Counts its polls and logs each one: `poll <n>`.
#[derive(Debug)]
pub struct Poller {
    polls: u64,
}

impl Poller {
    /// A poller that has not polled yet.
    ///
    /// # Errors
    ///
    /// None today; it has `new`'s fallible form, as a real poller opening a connection would.
    pub fn new() -> std::io::Result<Self> {
        Ok(Poller { polls: 0 })
    }

    /// How many polls it made.
    pub fn polls(&self) -> u64 {
        self.polls
    }
}

impl Daemon for Poller {
    type Error = std::io::Error;

    fn tick(&mut self, _ctx: &Context) -> std::io::Result<()> {
        self.polls += 1;
        info!("poll {}", self.polls);
        Ok(())
    }

    fn on_stop(&mut self) {
        info!("poller stopped after {} polls", self.polls);
    }
}
