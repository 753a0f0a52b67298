// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "other-values_2",
    mode = "aggressive",
    interval = "1h",
    level = "error",
    log_path = ".",
    stream = false,
    buffered = false,
    syslog = false,
    max_log_size = 4096,
    max_log_files = 1,
    watchdog = "2ms"
)]
impl Worker {
    fn tick(&mut self) {
        std::process::exit(0);
    }
}
