use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// A sync daemon has no tokio runtime to configure.
#[daemon(name = "MyDaemon", flavor = "current_thread")]
impl Worker {
    fn tick(&mut self) {}
}
