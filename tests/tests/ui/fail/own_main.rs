// #[daemon] writes `main`; a hand-written one clashes with it.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn tick(&mut self) {}
}

fn main() {}
