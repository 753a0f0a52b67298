// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::{daemon, Context};

struct Worker {
    limit: u32,
}

#[daemon(name = "Worker", stream, log_path = ".")]
impl Worker {
    fn new() -> Self {
        Worker { limit: 1 }
    }

    fn tick(&mut self, ctx: &Context) -> Result<(), String> {
        ctx.status("ticking");
        if self.limit == 0 || ctx.interrupted() {
            return Err("unreachable".into());
        }
        simple_daemon::log::info!("{} ticks once", ctx.name());
        std::process::exit(0);
    }
}
