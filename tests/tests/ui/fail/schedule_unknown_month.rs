use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", schedule = "0 3 1 Jna *")]
impl Worker {
    fn tick(&mut self) {}
}
