use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", schedule = "75 0 3 * * *")]
impl Worker {
    fn tick(&mut self) {}
}
