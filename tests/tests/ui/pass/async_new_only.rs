// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

struct Cache {
    entries: Vec<u32>,
}

// Only `new` is async (it connects, say): the daemon runs on tokio, its sync tick on the
// runtime's thread.
#[daemon(name = "Cache", log_path = ".")]
impl Cache {
    async fn new() -> Self {
        tokio::task::yield_now().await;
        Cache { entries: vec![1] }
    }

    fn tick(&mut self) {
        if self.entries == [1] {
            std::process::exit(0);
        }
    }
}
