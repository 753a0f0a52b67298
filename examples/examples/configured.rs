//! A daemon an operator configures without a rebuild (feature `config`): the attribute's keys
//! are the built-in defaults, `/etc/worker/worker.toml` (or `--config PATH`) overrides them, and
//! its `[settings]` table holds the daemon's own settings, read at start by `new` and again by
//! `on_reload` on each `systemctl reload`.
//!
//! ```sh
//! cargo run --example configured -- --config examples/systemd/worker-1.toml --check-config
//! cargo run --example configured -- --config examples/systemd/worker-1.toml
//! ```
//!
//! `examples/systemd/worker@.service` runs one instance per file: `worker@1` reads
//! `/etc/worker/1.toml`.

use serde::Deserialize;
use simple_daemon::daemon;

/// The `[settings]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// The queue this instance drains.
    queue: String,
    /// How many jobs a tick takes at most.
    #[serde(default = "one")]
    batch: u32,
}

fn one() -> u32 {
    1
}

struct Worker {
    settings: Settings,
    done: u64,
}

#[daemon(
    name = "worker",
    interval = "10s",
    level = "info",
    stream,
    config = "/etc/worker/worker.toml"
)]
impl Worker {
    fn new(settings: Settings) -> Self {
        Worker { settings, done: 0 }
    }

    fn tick(&mut self) {
        self.done += u64::from(self.settings.batch);
        simple_daemon::log::info!(queue = self.settings.queue.as_str(), done = self.done; "drained a batch");
    }

    fn on_reload(&mut self, settings: Settings) {
        simple_daemon::log::info!(
            "queue {} -> {}, batch {}",
            self.settings.queue,
            settings.queue,
            settings.batch
        );
        self.settings = settings;
    }
}
