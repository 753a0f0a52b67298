use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", mode = "passive", interval = "60s", mode = "aggressive")]
impl Worker {
    fn tick(&mut self) {}
}
