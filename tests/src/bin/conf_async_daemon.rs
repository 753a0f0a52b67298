//! The async form of `conf_daemon` (features `config` and `tokio`): `async fn new` takes the
//! `[settings]`, `async fn on_reload` the re-read ones, each tick logs the greeting in force.

use serde::Deserialize;
use simple_daemon::daemon;

#[derive(Deserialize)]
struct Settings {
    greeting: String,
}

struct Greeter {
    settings: Settings,
}

#[daemon(name = "ConfAsync", interval = "200ms", flavor = "current_thread")]
impl Greeter {
    async fn new(settings: Settings) -> Self {
        Greeter { settings }
    }

    async fn tick(&mut self) {
        simple_daemon::log::info!("greeting {}", self.settings.greeting);
    }

    async fn on_reload(&mut self, settings: Settings) {
        simple_daemon::log::info!("settings reloaded: greeting {}", settings.greeting);
        self.settings = settings;
    }
}
