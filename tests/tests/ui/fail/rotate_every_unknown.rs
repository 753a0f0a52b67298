use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Rotating", rotate_every = "hourly")]
impl Worker {
    fn tick(&mut self) {}
}
