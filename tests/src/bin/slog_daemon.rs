//! A test daemon for structured logging: records from several targets, with typed key-value
//! fields and odd messages. Common variables: see `simple_daemon_tests::builder_from_env`
//! (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`). Its own:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SD_LEVEL` | `level` (a level or directives) | the builder's default |
//! | `SD_FORMAT` | `log_format` | the seed's |
//! | `SD_SYSLOG_SOCKET` | turns `syslog` on, at this socket | off |
//! | `SD_END` | after the first tick's records: `panic` (a two-line message with quotes), `error` (the tick fails) | waits for a signal |
//!
//! The first tick logs, at each level, from the targets `slog_daemon`, `slog_daemon::db`,
//! `slog_daemon::db::pool` and `hyper::client` (`<target> <level>`), a `login` record with one
//! field of each type and one named like a fixed JSON key, and an `odd` record whose message has
//! quotes, backslashes, a newline, a tab and a control character; then `FIRST TICK DONE`.

use simple_daemon::log::{debug, error, info, trace, warn};
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_var};

mod db {
    pub fn work() {
        super::every_level("slog_daemon::db");
        pool::work();
    }
    pub mod pool {
        pub fn work() {
            super::super::every_level("slog_daemon::db::pool");
        }
    }
}

/// One record at each level for `target`, as `<target> <level>`.
fn every_level(target: &str) {
    error!(target: target, "{target} error");
    warn!(target: target, "{target} warn");
    info!(target: target, "{target} info");
    debug!(target: target, "{target} debug");
    trace!(target: target, "{target} trace");
}

struct Worker {
    n: u64,
    end: Option<String>,
}

impl Daemon for Worker {
    type Error = String;

    fn tick(&mut self, _ctx: &Context) -> Result<(), Self::Error> {
        self.n += 1;
        if self.n > 1 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            return Ok(());
        }
        every_level("slog_daemon");
        db::work();
        every_level("hyper::client");
        let path = String::from("/x");
        info!(user = 42, neg = -3, big = u64::MAX, ratio = 0.5, ok = true, path = path.as_str(), quote = "a\"b\nc", level = "mine"; "login");
        info!("odd \"quoted\" back\\slash\nsecond line\ttab \u{1} end");
        info!("FIRST TICK DONE");
        match self.end.as_deref() {
            Some("panic") => panic!("boom \"quoted\"\nsecond line"),
            Some("error") => Err("the tick failed".to_owned()),
            _ => Ok(()),
        }
    }
}

fn main() -> Exit {
    let mut b = builder_from_env("SlogDaemon");
    if let Some(l) = env_var("SD_LEVEL") {
        b = b.level(l);
    }
    if let Some(f) = env_var("SD_FORMAT") {
        b = b.log_format(f);
    }
    if let Some(sock) = env_var("SD_SYSLOG_SOCKET") {
        b = b.syslog(true).syslog_socket(sock);
    }
    b.run(Worker {
        n: 0,
        end: env_var("SD_END"),
    })
}
