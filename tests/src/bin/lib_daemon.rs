//! A binary whose daemon type lives in a library (`simple_daemon_tests::poller::Poller`): its
//! `main` is `SimpleDaemon::main`, so it has the generated binary's command line
//! (`--help`, `--version`, `--print-systemd-unit`) without `#[daemon]`. Common variables: see
//! `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`); it polls
//! every 50 ms.

use std::time::Duration;

use simple_daemon::Exit;
use simple_daemon_tests::builder_from_env;
use simple_daemon_tests::poller::Poller;

fn main() -> Exit {
    builder_from_env("Poller")
        .version(env!("CARGO_PKG_VERSION"))
        .interval(Duration::from_millis(50))
        .main(Poller::new)
}
