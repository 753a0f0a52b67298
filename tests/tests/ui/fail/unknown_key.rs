// `intreval`: a transposition, suggested as `interval`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", intreval = "60s")]
impl Worker {
    fn tick(&mut self) {}
}
