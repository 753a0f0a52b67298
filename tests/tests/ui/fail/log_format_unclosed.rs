use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_format = "{time} - {message")]
impl Worker {
    fn tick(&mut self) {}
}
