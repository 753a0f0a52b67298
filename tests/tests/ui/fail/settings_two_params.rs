use simple_daemon::daemon;

#[derive(serde::Deserialize)]
struct Settings {
    url: String,
}

struct Fetcher {
    url: String,
}

// The settings come in one type, from one [settings] table.
#[daemon(name = "Fetcher")]
impl Fetcher {
    fn new(settings: Settings, retries: u32) -> Self {
        let _ = retries;
        Fetcher { url: settings.url }
    }
    fn tick(&mut self) {
        let _ = &self.url;
    }
}
