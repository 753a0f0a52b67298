use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", interval = "0s")]
impl Worker {
    fn tick(&mut self) {}
}
