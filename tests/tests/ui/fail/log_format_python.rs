// The seed's Python format string.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_format = "%(asctime)s - %(name)s - %(levelname)s - %(message)s")]
impl Worker {
    fn tick(&mut self) {}
}
