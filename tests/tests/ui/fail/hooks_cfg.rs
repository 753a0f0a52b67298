// Hooks compiled out by `#[cfg]`, or by a `#[cfg_attr]` that yields one: each would call the
// trait's own hook, itself, forever.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon")]
impl Worker {
    #[cfg_attr(test, allow(dead_code))]
    fn tick(&mut self) {}

    #[cfg(any())]
    fn on_stop(&mut self) {}

    #[cfg_attr(not(test), cfg(any()))]
    fn on_reload(&mut self) {}
}
