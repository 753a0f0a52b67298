use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// The operator's file, in a project that did not enable the feature `config`.
#[daemon(name = "Worker", config = "/etc/worker.toml")]
impl Worker {
    fn tick(&mut self) {}
}
