use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", schedule = "0 25 * * *")]
impl Worker {
    fn tick(&mut self) {}
}
