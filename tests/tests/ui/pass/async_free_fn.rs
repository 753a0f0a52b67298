// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

// A free async tick without state, everything on the daemon's own thread.
#[daemon(name = "Beat", flavor = "current_thread", interval = "10ms", log_path = ".")]
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    std::process::exit(0);
}
