use simple_daemon::daemon;

struct Settings {
    url: String,
}

struct Fetcher {
    url: String,
}

// The daemon's own settings, in a project that did not enable the feature `config`.
#[daemon(name = "Fetcher")]
impl Fetcher {
    fn new(settings: Settings) -> Self {
        Fetcher { url: settings.url }
    }
    fn tick(&mut self) {
        let _ = &self.url;
    }
}
