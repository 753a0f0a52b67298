use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon" mode = "passive")]
impl Worker {
    fn tick(&mut self) {}
}
