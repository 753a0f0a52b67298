// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "EveryKey",
    mode = "passive",
    interval = "500ms",
    level = "trace",
    log_path = ".",
    log_name = "every-key.log",
    log_format = "{{{time}}} {pid} {target} - {name} - {level} - {message}",
    stream,
    syslog = false,
    journal = false,
    buffered,
    max_log_size = "64KiB",
    max_log_files = 3,
    stop_timeout = "30s",
    watchdog = "10s",
    crate = "::simple_daemon",
)]
impl Worker {
    fn tick(&mut self) {
        std::process::exit(0);
    }
}
