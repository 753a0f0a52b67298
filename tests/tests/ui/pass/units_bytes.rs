// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[daemon(name = "Units", log_path = ".", max_log_size = "512B", stop_timeout = "1h")]
fn tick() {
    std::process::exit(0);
}
