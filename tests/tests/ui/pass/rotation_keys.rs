// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "Rotating",
    log_path = ".",
    log_name = "rotating.log",
    rotate_every = "1h",
    compress,
    max_log_files = 3
)]
impl Worker {
    fn tick(&mut self) {
        std::process::exit(0);
    }
}
