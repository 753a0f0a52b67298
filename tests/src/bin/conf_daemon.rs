//! A daemon configured by the operator's file (feature `config`): `config = "..."` names its
//! default file, `new` and `on_reload` take its `[settings]`. Each tick logs the greeting of the
//! settings in force, so a test sees the file's settings reach the daemon, at start and after a
//! reload.

use serde::Deserialize;
use simple_daemon::daemon;

#[derive(Deserialize)]
struct Settings {
    greeting: String,
    #[serde(default)]
    repeat: u32,
}

struct Greeter {
    settings: Settings,
}

#[daemon(
    name = "ConfDaemon",
    interval = "200ms",
    config = "/tmp/simple-daemon-tests-conf/ConfDaemon.toml"
)]
impl Greeter {
    fn new(settings: Settings) -> Self {
        Greeter { settings }
    }

    fn tick(&mut self) {
        simple_daemon::log::info!("greeting {} x{}", self.settings.greeting, self.settings.repeat);
    }

    fn on_reload(&mut self, settings: Settings) {
        simple_daemon::log::info!("settings reloaded: greeting {}", settings.greeting);
        self.settings = settings;
    }
}
