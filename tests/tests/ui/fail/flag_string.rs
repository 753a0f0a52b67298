use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", syslog = "yes")]
impl Worker {
    fn tick(&mut self) {}
}
