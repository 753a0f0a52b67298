//! The new user: `#[daemon]` with `schedule = "30 2 * * *"` and
//! `timezone = "Europe/Berlin"`, logging in the working directory and on stdout. Each run logs
//! `nightly run <n>`; `tests/schedule.rs` runs it under a fake wall clock (libfaketime) on the
//! two DST days.

use simple_daemon::daemon;

#[derive(Default)]
struct Nightly {
    runs: u64,
}

#[daemon(
    name = "Nightly",
    schedule = "30 2 * * *",
    timezone = "Europe/Berlin",
    log_path = ".",
    stream
)]
impl Nightly {
    fn tick(&mut self) {
        self.runs += 1;
        simple_daemon::log::info!("nightly run {}", self.runs);
    }
}
