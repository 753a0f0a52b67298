use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// The journal's socket is not a value of the flag.
#[daemon(name = "MyDaemon", journal = "/run/systemd/journal/socket")]
impl Worker {
    fn tick(&mut self) {}
}
