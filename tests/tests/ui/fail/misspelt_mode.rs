use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", mode = "agressive")]
impl Worker {
    fn tick(&mut self) {}
}
