// The seed's `log_lvl = 10`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", level = 10)]
impl Worker {
    fn tick(&mut self) {}
}
