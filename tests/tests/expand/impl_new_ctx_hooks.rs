use simple_daemon::{daemon, Context};

struct Worker {
    passes: u64,
}

#[daemon(name = "Worker", mode = "aggressive")]
impl Worker {
    fn new() -> Self {
        Worker { passes: 0 }
    }

    fn tick(&mut self, ctx: &Context) -> Result<(), String> {
        self.passes += 1;
        ctx.status("working");
        Ok(())
    }

    fn on_stop(&mut self) {}

    fn on_reload(&mut self) {}
}
