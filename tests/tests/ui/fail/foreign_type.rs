// A type from another crate (here the tests' library): one error on its path, pointing to
// `SimpleDaemon::main`.
use simple_daemon::daemon;

#[daemon(name = "Poller")]
impl simple_daemon_tests::poller::Poller {
    fn tick(&mut self) {}
}
