// `schedule` without simple-daemon's feature `schedule`: one error on the value, naming the
// feature and the Cargo.toml line.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Nightly", schedule = "30 2 * * *", timezone = "Europe/Berlin")]
impl Worker {
    fn tick(&mut self) {}
}
