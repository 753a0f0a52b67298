// `{field}` for the key-values: the template field is `{fields}`.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", log_format = "{time} {message} {field}")]
impl Worker {
    fn tick(&mut self) {}
}
