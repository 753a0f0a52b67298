use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", interval = "1s", max_failures = 3)]
impl Worker {
    fn tick(&mut self) {}
}
