use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn tick(&mut self) {}

    fn on_stop(&self) {}
}
