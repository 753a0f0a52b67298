use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", interval = "1s", missed = "delayed")]
impl Worker {
    fn tick(&mut self) {}
}
