use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", max_log_size = "10M")]
impl Worker {
    fn tick(&mut self) {}
}
