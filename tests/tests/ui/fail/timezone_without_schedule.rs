use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", interval = "60s", timezone = "Europe/Berlin")]
impl Worker {
    fn tick(&mut self) {}
}
