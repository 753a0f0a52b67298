// JSON lines are `log_format = "json"`; "JSON" would be a template whose lines all read `JSON`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_format = "JSON")]
impl Worker {
    fn tick(&mut self) {}
}
