// Compiles, starts, and ends in its first tick (trybuild runs each passing case): a calendar
// of every second, in a named zone, with every policy key.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "ScheduleKeys",
    log_path = ".",
    schedule = "* * * * * *",
    timezone = "America/New_York",
    missed = "skip",
    jitter = "10ms",
    on_error = "continue",
    max_backoff = "1m",
    max_failures = 5
)]
impl Worker {
    fn tick(&mut self) -> Result<(), std::io::Error> {
        std::process::exit(0);
    }
}
