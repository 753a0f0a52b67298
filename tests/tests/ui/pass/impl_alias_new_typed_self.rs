// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
// `new` returns an alias of `Result`, the methods take `self: &mut Self`, and the `Daemon`
// trait is in scope: the glue still calls the inherent methods.
use simple_daemon::{daemon, Context, Daemon};

type Res<T> = std::result::Result<T, std::io::Error>;

struct Worker {
    dir: std::path::PathBuf,
}

#[daemon(name = "Worker", log_path = ".", interval = "1 s", stop_timeout = "1d")]
impl Worker {
    fn new() -> Res<Self> {
        Ok(Worker { dir: std::env::current_dir()? })
    }

    fn tick(self: &mut Self, ctx: &Context) -> Res<()> {
        std::fs::metadata(&self.dir)?;
        ctx.status("checked");
        std::process::exit(0);
    }

    fn on_stop(self: &mut Worker) {}

    fn on_reload(&mut self) {}
}

#[allow(dead_code)]
fn trait_in_scope(w: &mut Worker) {
    w.on_reload();
    let _ = Daemon::tick(w, &Context::detached("Worker"));
}
