// `new` in another impl block: the macro sees only its own block, so it says so, on the type.
use simple_daemon::daemon;

struct Worker {
    beats: u64,
}

impl Worker {
    fn new() -> Self {
        Worker { beats: 0 }
    }
}

#[daemon(name = "MyDaemon")]
impl Worker {
    fn tick(&mut self) {
        self.beats += 1;
    }
}
