// A `tick` compiled out by `#[cfg]`: the glue must not fall back to `Daemon::tick` (a call of
// itself, spinning at run time).
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    #[cfg(any())]
    fn tick(&mut self, ctx: &simple_daemon::Context) {
        ctx.status("working");
    }
}
