use simple_daemon::daemon;

#[daemon(name = "MyDaemon")]
#[derive(Default)]
struct Worker {
    beats: u64,
}

impl Worker {
    fn tick(&mut self) {
        self.beats += 1;
    }
}
