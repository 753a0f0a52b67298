// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[daemon(name = "Units", level = "info", log_path = ".", max_log_size = "2MiB", interval = "60s")]
fn tick() {
    std::process::exit(0);
}
