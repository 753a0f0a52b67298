// `admin` without simple-daemon's feature `admin`: one error on the value, naming the feature
// and the Cargo.toml line.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Probed", interval = "1s", admin = "127.0.0.1:9102")]
impl Worker {
    fn tick(&mut self) {}
}
