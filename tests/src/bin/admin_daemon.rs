//! A daemon with the admin listener, for the fleet tests (`tests/admin.rs`, `tests/pid1.rs`).
//!
//! Variables: those of [`simple_daemon_tests::builder_from_env`] and
//! [`simple_daemon_tests::timing_from_env`], and
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SD_ADMIN` | `admin` address | `127.0.0.1:0` (the port is in the `Admin listening on` line) |
//! | `SD_TICK_TIMEOUT_MS` | `tick_timeout` | none |
//! | `SD_TICK_MS` | each tick sleeps this long | 0 |
//! | `SD_HOLD_FILE` | while this file exists, a tick waits for it to go | unset |
//! | `SD_ORPHANS` | set: each tick leaves an orphan (`sh -c 'sleep 0.2 &'`) and checks that `Command::status()` still gets `exit 3` | unset |
//!
//! It registers metrics of its own through `simple_daemon::admin::registry()`:
//! `admin_daemon_ticks_seen_total`, and `admin_daemon_ticks_by_kind_total{kind="plain"}` (a
//! labelled family).

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use simple_daemon::admin::prometheus_client::metrics::counter::Counter;
use simple_daemon::admin::prometheus_client::metrics::family::Family;
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_ms, env_var, timing_from_env};

struct Fleet {
    seen: Counter,
    plain: Counter,
    tick: Duration,
    hold: Option<PathBuf>,
    orphans: bool,
}

impl Daemon for Fleet {
    type Error = Infallible;
    fn tick(&mut self, ctx: &Context) -> Result<(), Infallible> {
        self.seen.inc();
        self.plain.inc();
        if let Some(h) = &self.hold {
            while h.exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if self.orphans {
            // `sh` exits at once; its `sleep` is re-parented to PID 1 and ends as a zombie.
            let _ = Command::new("sh").args(["-c", "sleep 0.2 &"]).status();
            match Command::new("sh").args(["-c", "exit 3"]).status() {
                Ok(st) => simple_daemon::log::info!("child status {:?}", st.code()),
                Err(e) => simple_daemon::log::error!("child status error: {e}"),
            }
        }
        ctx.sleep(self.tick);
        Ok(())
    }
}

fn main() -> Exit {
    let mut b = timing_from_env(builder_from_env("AdminDaemon"))
        .admin(env_var("SD_ADMIN").unwrap_or_else(|| "127.0.0.1:0".into()));
    if let Some(t) = env_ms("SD_TICK_TIMEOUT_MS") {
        b = b.tick_timeout(t);
    }
    b.main(|| {
        let seen = Counter::default();
        simple_daemon::admin::registry().register(
            "admin_daemon_ticks_seen",
            "Ticks this daemon saw (its own metric)",
            seen.clone(),
        );
        let by_kind = Family::<[(&'static str, &'static str); 1], Counter>::default();
        simple_daemon::admin::registry().register(
            "admin_daemon_ticks_by_kind",
            "Ticks this daemon saw, by kind (a labelled metric of its own)",
            by_kind.clone(),
        );
        let plain = by_kind.get_or_create(&[("kind", "plain")]).clone();
        Ok::<_, Infallible>(Fleet {
            seen,
            plain,
            tick: env_ms("SD_TICK_MS").unwrap_or_default(),
            hold: env_var("SD_HOLD_FILE").map(PathBuf::from),
            orphans: env_var("SD_ORPHANS").is_some(),
        })
    })
}
