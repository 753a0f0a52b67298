use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", flavor = "current_thread", worker_threads = 4)]
impl Worker {
    async fn tick(&mut self) {}
}
