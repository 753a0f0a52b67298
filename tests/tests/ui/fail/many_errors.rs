// Every mistake is reported at once.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", intreval = "60s", mode = "agressive")]
impl Worker {
    fn tick(&self) {}
}
