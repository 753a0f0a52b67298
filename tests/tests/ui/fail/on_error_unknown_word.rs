use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", interval = "1s", on_error = "sometimes")]
impl Worker {
    fn tick(&mut self) {}
}
