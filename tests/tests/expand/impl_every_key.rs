use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "MyDaemon",
    mode = "passive",
    interval = "1500ms",
    level = "info",
    log_path = "/var/log/my-daemon",
    log_name = "my.log",
    log_format = "{time} [{pid}] {level}: {message}",
    stream,
    syslog,
    journal,
    buffered = false,
    max_log_size = "64KiB",
    max_log_files = 5,
    stop_timeout = "30s",
    watchdog = "1m"
)]
impl Worker {
    fn tick(&mut self) {}
}
