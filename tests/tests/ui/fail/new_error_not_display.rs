use simple_daemon::daemon;

#[derive(Debug)]
struct StartError;

struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn new() -> Result<Self, StartError> {
        Err(StartError)
    }

    fn tick(&mut self) {}
}
