use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", watchdog = "1ms")]
impl Worker {
    fn tick(&mut self) {}
}
