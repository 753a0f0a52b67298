// The seed's `interrupt_mode = True`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", mode = true)]
impl Worker {
    fn tick(&mut self) {}
}
