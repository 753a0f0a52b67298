use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", level = "warning")]
impl Worker {
    fn tick(&mut self) {}
}
