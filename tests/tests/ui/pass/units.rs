// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Units", interval = "5m", level = "warn", log_path = ".", max_log_size = "1GB", stop_timeout = "1500ms", watchdog = "1m")]
impl Worker {
    fn tick(&mut self) {
        std::process::exit(0);
    }
}
