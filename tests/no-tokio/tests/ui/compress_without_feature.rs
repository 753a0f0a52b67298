// `compress` without simple-daemon's feature `compress`: one error on the key, naming the
// feature and the Cargo.toml line (`rotate_every`, which needs no feature, is fine).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Rotating", rotate_every = "1d", compress)]
impl Worker {
    fn tick(&mut self) {}
}
