//! A test daemon for the `tracing` bridge (feature `tracing`): `tracing` events from its own
//! code, in spans, beside `log` records, and from a real library that emits them (`polling`,
//! whose `Poller` logs its epoll calls at TRACE, inside spans with fields). Common variables:
//! see `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`). Its own:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SD_LEVEL` | `level` (a level or directives) | the builder's default |
//! | `SD_FORMAT` | `log_format` | the seed's |
//! | `SD_OTHER_SUBSCRIBER` | set: make another `tracing` subscriber the global one first | unset |
//!
//! Tick `n` (every 50 ms) logs, in this order: `log` `logged <n> a`; in a span `job` with
//! `id = 7` and `stage` recorded later as `"late"`, the `tracing` event `traced <n>` with
//! `user = 42` and `ok = true`; a `tracing::debug!` `hidden <n>` and a `tracing::trace!` for the
//! target `noisy` `noisy <n>`; a `Poller::new` and a zero-timeout `Poller::wait` (polling's own
//! TRACE events `new` and `new events`); `log` `logged <n> b`. Tick 1 then logs
//! `FIRST TICK DONE`.

use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_var};

struct Worker {
    n: u64,
}

/// A subscriber that takes nothing, to be in the way.
struct Other;

impl tracing::Subscriber for Other {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Daemon for Worker {
    type Error = String;
    fn tick(&mut self, _ctx: &Context) -> Result<(), String> {
        self.n += 1;
        let n = self.n;
        info!("logged {n} a");
        let span = tracing::info_span!("job", id = 7, stage = tracing::field::Empty);
        span.record("stage", "late");
        span.in_scope(|| {
            tracing::info!(user = 42, ok = true, "traced {n}");
            tracing::debug!("hidden {n}");
            tracing::trace!(target: "noisy", "noisy {n}");
        });
        let poller = polling::Poller::new().map_err(|e| e.to_string())?;
        let mut events = polling::Events::new();
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .map_err(|e| e.to_string())?;
        info!("logged {n} b");
        if n == 1 {
            info!("FIRST TICK DONE");
        }
        Ok(())
    }
}

fn main() -> Exit {
    if env_var("SD_OTHER_SUBSCRIBER").is_some() {
        let _ = tracing::subscriber::set_global_default(Other);
    }
    let mut b = builder_from_env("TraceDaemon").interval(Duration::from_millis(50));
    if let Some(l) = env_var("SD_LEVEL") {
        b = b.level(l);
    }
    if let Some(f) = env_var("SD_FORMAT") {
        b = b.log_format(f);
    }
    b.main(|| Ok::<_, String>(Worker { n: 0 }))
}
