use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", max_log_files = "2")]
impl Worker {
    fn tick(&mut self) {}
}
