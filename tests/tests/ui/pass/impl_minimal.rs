// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// No keys: the name is the binary's, every setting its default (but the log directory).
#[daemon(log_path = ".")]
impl Worker {
    fn tick(&mut self) {
        std::process::exit(0);
    }
}
