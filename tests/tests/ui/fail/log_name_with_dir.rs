use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_name = "/var/log/my-daemon.log")]
impl Worker {
    fn tick(&mut self) {}
}
