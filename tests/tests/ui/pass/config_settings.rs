// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

// The operator's file (absent here: every setting has a default) and the daemon's own settings,
// given to `new` and, re-read, to `on_reload`.
#[derive(serde::Deserialize)]
struct Settings {
    #[serde(default)]
    url: String,
}

struct Fetcher {
    url: String,
}

#[daemon(name = "Fetcher", interval = "10ms", log_path = ".", config = "/nonexistent/fetcher.toml")]
impl Fetcher {
    fn new(settings: Settings) -> Result<Self, std::io::Error> {
        Ok(Fetcher { url: settings.url })
    }
    fn tick(&mut self) {
        assert_eq!(self.url, "");
        std::process::exit(0);
    }
    fn on_reload(&mut self, settings: Settings) {
        self.url = settings.url;
    }
}
