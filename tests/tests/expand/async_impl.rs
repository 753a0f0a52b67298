use simple_daemon::{daemon, Context};

struct Poller {
    polls: u64,
}

#[daemon(name = "Poller", mode = "aggressive", interval = "30s", flavor = "current_thread")]
impl Poller {
    async fn new() -> Result<Self, std::io::Error> {
        Ok(Poller { polls: 0 })
    }
    async fn tick(&mut self, ctx: &Context) -> Result<(), std::io::Error> {
        self.polls += 1;
        ctx.stopped().await;
        Ok(())
    }
    async fn on_stop(&mut self) {}
}
