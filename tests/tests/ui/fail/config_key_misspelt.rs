use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// `config_file` is the builder's name; the attribute's key is `config`.
#[daemon(name = "Worker", config_file = "/etc/worker.toml")]
impl Worker {
    fn tick(&mut self) {}
}
