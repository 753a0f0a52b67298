// The Python seed's `log_lvl` is `level` here.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_lvl = "info")]
impl Worker {
    fn tick(&mut self) {}
}
