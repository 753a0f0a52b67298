// Only a name (without one, the expansion would show the bin name that `cargo expand` builds,
// `macrotestNNN`, which depends on the order of these files): every other setting its default.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "Worker")]
impl Worker {
    fn tick(&mut self) {}
}
