// A template without `{message}` would log every line without its message.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_format = "{time} {level} {{message}}")]
impl Worker {
    fn tick(&mut self) {}
}
