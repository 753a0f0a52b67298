use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", schedule = "0 3 * * *", timezone = "Berlin")]
impl Worker {
    fn tick(&mut self) {}
}
