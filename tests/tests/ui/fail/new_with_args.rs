use simple_daemon::daemon;

struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn new(_path: &str) -> Self {
        Worker
    }

    fn tick(&mut self) {}
}
