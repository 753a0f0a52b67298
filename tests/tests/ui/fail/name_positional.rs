use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon("MyDaemon")]
impl Worker {
    fn tick(&mut self) {}
}
