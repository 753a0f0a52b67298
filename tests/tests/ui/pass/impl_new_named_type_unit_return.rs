// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

struct Worker<T>(T);

#[daemon(name = "Worker", log_path = ".")]
impl Worker<u32> {
    fn new() -> Worker<u32> {
        Worker(0)
    }

    fn tick(&mut self) -> () {
        self.0 += 1;
        std::process::exit(0);
    }
}
