// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

struct Worker {
    path: std::path::PathBuf,
}

#[daemon(name = "Worker", mode = "passive", log_path = ".")]
impl Worker {
    fn new() -> Result<Self, std::io::Error> {
        Ok(Worker { path: std::env::current_dir()? })
    }

    pub fn tick(&mut self) -> Result<()> {
        std::fs::metadata(&self.path)?;
        std::process::exit(0);
    }

    fn on_stop(&mut self) {}

    fn on_reload(&mut self) -> () {}

    /// Other items of the impl block are left alone.
    #[allow(dead_code)]
    const LIMIT: u32 = 3;
}
