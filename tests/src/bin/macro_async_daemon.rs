//! The DESIGN's async poller through `#[daemon]` (feature `tokio`): an aggressive daemon on a
//! current-thread runtime whose tick awaits a 60 s sleep. `async_stop.rs` stops it with a real
//! SIGTERM and reads, from the log, what the cancellation dropped. It logs into
//! `$LOGS_DIRECTORY`, as under systemd.

use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{daemon, Context};

/// Logs `what dropped` when dropped.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        info!("{} dropped", self.0);
    }
}

struct Poller {
    polls: u64,
    _state: Noisy,
}

#[daemon(name = "MacroAsync", mode = "aggressive", flavor = "current_thread")]
impl Poller {
    async fn new() -> Result<Self, std::io::Error> {
        tokio::task::yield_now().await;
        Ok(Poller {
            polls: 0,
            _state: Noisy("state"),
        })
    }

    async fn tick(&mut self, ctx: &Context) -> Result<(), std::io::Error> {
        self.polls += 1;
        let _local = Noisy("tick local");
        info!("poll {} start", self.polls);
        ctx.status("polling");
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(())
    }

    async fn on_stop(&mut self) {
        info!("on_stop ran");
    }
}
