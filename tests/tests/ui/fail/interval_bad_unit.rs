use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", interval = "1min")]
impl Worker {
    fn tick(&mut self) {}
}
