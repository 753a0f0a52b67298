use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// systemd's daemon is journald; the key is `journal`.
#[daemon(name = "MyDaemon", journald)]
impl Worker {
    fn tick(&mut self) {}
}
