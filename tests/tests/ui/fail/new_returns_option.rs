use simple_daemon::daemon;

struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn new() -> Option<Self> {
        Some(Worker)
    }

    fn tick(&mut self) {}
}
