use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", max_log_size = 0)]
impl Worker {
    fn tick(&mut self) {}
}
