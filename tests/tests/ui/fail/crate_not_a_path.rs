use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", crate = "my facade")]
impl Worker {
    fn tick(&mut self) {}
}
