// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::{daemon, Context};
use std::time::Duration;

struct Poller {
    polls: u64,
}

// Every method async but `on_reload`, on a multi-thread runtime of two workers.
#[daemon(name = "Poller", mode = "aggressive", flavor = "multi_thread", worker_threads = 2, log_path = ".")]
impl Poller {
    async fn new() -> Result<Self, std::io::Error> {
        tokio::task::yield_now().await;
        Ok(Poller { polls: 0 })
    }

    async fn tick(&mut self, ctx: &Context) -> Result<(), std::io::Error> {
        self.polls += 1;
        let worker = tokio::spawn(async { 6 * 7 }).await.map_err(std::io::Error::other)?;
        ctx.sleep_async(Duration::from_millis(1)).await;
        if worker == 42 && self.polls == 1 {
            std::process::exit(0);
        }
        Ok(())
    }

    async fn on_stop(&mut self) {}

    fn on_reload(&mut self) {}
}
