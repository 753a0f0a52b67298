use simple_daemon::daemon;

#[derive(serde::Deserialize)]
struct Settings {
    url: String,
}

#[derive(serde::Deserialize)]
struct Other {
    url: String,
}

struct Fetcher {
    url: String,
}

#[daemon(name = "Fetcher")]
impl Fetcher {
    fn new(settings: Settings) -> Self {
        Fetcher { url: settings.url }
    }
    fn tick(&mut self) {
        let _ = &self.url;
    }
    fn on_reload(&mut self, settings: Other) {
        self.url = settings.url;
    }
}
