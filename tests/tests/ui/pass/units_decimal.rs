// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[daemon(name = "Units", level = "debug", log_path = ".", max_log_size = "100KB", max_log_files = 10)]
fn tick() {
    std::process::exit(0);
}
