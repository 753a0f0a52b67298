use simple_daemon::daemon;

// The settings type forgot `#[derive(serde::Deserialize)]`.
struct Settings {
    url: String,
}

struct Fetcher {
    url: String,
}

#[daemon(name = "Fetcher", config = "/etc/fetcher.toml")]
impl Fetcher {
    fn new(settings: Settings) -> Self {
        Fetcher { url: settings.url }
    }
    fn tick(&mut self) {
        let _ = &self.url;
    }
}
