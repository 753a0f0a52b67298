// Compiles, starts, and ends in its first tick (trybuild runs each passing case): the policy
// keys with an interval.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(
    name = "PolicyKeys",
    log_path = ".",
    interval = "100ms",
    missed = "burst",
    jitter = "5ms",
    on_error = "continue",
    max_backoff = "2s",
    max_failures = 2
)]
impl Worker {
    fn tick(&mut self) -> Result<(), String> {
        std::process::exit(0);
    }
}
