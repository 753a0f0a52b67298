use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "My Daemon")]
impl Worker {
    fn tick(&mut self) {}
}
