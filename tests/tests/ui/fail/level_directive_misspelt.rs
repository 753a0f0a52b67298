// A directive's level misspelt: `warning` is Python's word; `log` says `warn`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", level = "info,hyper=warning")]
impl Worker {
    fn tick(&mut self) {}
}
