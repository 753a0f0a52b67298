//! The seed's aggressive loop written async (feature `tokio`): a stop cancels the tick at its
//! `.await`, so what the tick holds is dropped, and the process still ends within milliseconds.
//!
//! Run it: `cargo run --example async_aggressive`. Lines appear on stdout (`stream`) and in the
//! log file:
//!
//! ```text
//! 2026-12-01 21:50:00,125 - MyDaemon - INFO - Mode: AGGRESSIVE
//! 2026-12-01 21:50:00,125 - MyDaemon - INFO - sleeping 60 s in the tick
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C) logs `Received 15 signal.`, then the tick future is dropped
//! where it waits (`the tick's lease is released`: its local's destructor ran), then the state
//! (`the daemon's state is dropped`); `on_stop` does not run; `Graceful Interrupt...`; exit 0.
//! Had the tick blocked its thread instead (`std::thread::sleep`), the stop would end the
//! process 500 ms later anyway, after a WARN line saying the tick could not be cancelled.

use std::time::Duration;

use simple_daemon::daemon;
use simple_daemon::log::info;

/// Something a tick holds, released by its destructor.
struct Lease;

impl Drop for Lease {
    fn drop(&mut self) {
        info!("the tick's lease is released");
    }
}

#[derive(Default)]
struct Aggressive;

impl Drop for Aggressive {
    fn drop(&mut self) {
        info!("the daemon's state is dropped");
    }
}

#[daemon(name = "MyDaemon", mode = "aggressive", stream)]
impl Aggressive {
    async fn tick(&mut self) {
        let _lease = Lease;
        // The seed's `sp(60)`, as an await: where a stop cancels the tick.
        info!("sleeping 60 s in the tick");
        tokio::time::sleep(Duration::from_secs(60)).await;
    }

    fn on_stop(&mut self) {
        info!("on_stop ran (never, in aggressive mode)");
    }
}
