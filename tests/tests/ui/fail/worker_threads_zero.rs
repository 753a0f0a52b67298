use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", worker_threads = 0)]
impl Worker {
    async fn tick(&mut self) {}
}
