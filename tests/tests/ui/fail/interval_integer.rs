use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", interval = 60)]
impl Worker {
    fn tick(&mut self) {}
}
