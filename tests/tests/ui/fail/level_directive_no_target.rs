// A directive with `=` but no target before it.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", level = "info,=debug")]
impl Worker {
    fn tick(&mut self) {}
}
