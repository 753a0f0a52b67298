use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", mode = "aggressive", stop_timeout = "30s")]
impl Worker {
    fn tick(&mut self) {}
}
