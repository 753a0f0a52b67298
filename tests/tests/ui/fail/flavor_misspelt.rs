use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", flavor = "current-thread")]
impl Worker {
    async fn tick(&mut self) {}
}
