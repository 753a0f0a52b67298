use simple_daemon::daemon;

struct Worker {
    dir: std::path::PathBuf,
}

#[daemon(name = "Worker", interval = "5m")]
impl Worker {
    fn new() -> std::io::Result<Self> {
        Ok(Worker { dir: std::env::current_dir()? })
    }

    fn tick(&mut self) -> std::io::Result<()> {
        std::fs::metadata(&self.dir).map(drop)
    }
}
