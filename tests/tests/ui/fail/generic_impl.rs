use simple_daemon::daemon;

#[derive(Default)]
struct Worker<T>(T);

#[daemon(name = "MyDaemon")]
impl<T: Default> Worker<T> {
    fn tick(&mut self) {}
}
