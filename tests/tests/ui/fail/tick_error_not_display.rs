use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[derive(Debug)]
struct MyError;

#[daemon(name = "MyDaemon")]
impl Worker {
    fn tick(&mut self) -> Result<(), MyError> {
        Err(MyError)
    }
}
