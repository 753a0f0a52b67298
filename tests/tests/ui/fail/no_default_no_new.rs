use simple_daemon::daemon;

struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn tick(&mut self) {}
}
