use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", interval = "1s", jitter = "0s")]
impl Worker {
    fn tick(&mut self) {}
}
