// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

// An async daemon built with `Default` that takes the re-read settings in `on_reload` only.
#[derive(serde::Deserialize, Default)]
struct Settings {
    #[serde(default)]
    limit: u32,
}

#[derive(Default)]
struct Poller {
    limit: u32,
}

#[daemon(name = "Poller", interval = "10ms", log_path = ".")]
impl Poller {
    async fn tick(&mut self) {
        let _ = self.limit;
        std::process::exit(0);
    }
    async fn on_reload(&mut self, settings: Settings) {
        self.limit = settings.limit;
    }
}
