use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

// A host name is not an address the listener can bind without a resolver.
#[daemon(name = "Worker", admin = "localhost:9102", tick_timeout = "30")]
impl Worker {
    fn tick(&mut self) {}
}
