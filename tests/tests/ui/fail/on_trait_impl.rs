use simple_daemon::{daemon, Context, Daemon};

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon")]
impl Daemon for Worker {
    type Error = String;
    fn tick(&mut self, _ctx: &Context) -> Result<(), String> {
        Ok(())
    }
}
