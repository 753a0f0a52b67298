// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[daemon(name = "Stateless", interval = "1s", log_path = ".")]
fn tick() {
    std::process::exit(0);
}
