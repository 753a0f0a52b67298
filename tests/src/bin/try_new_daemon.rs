//! A `#[daemon]` binary whose `new` returns an alias of `Result` and whose methods take
//! `self: &mut Self`, for `tests/keys.rs`. It logs in the working directory (`TryNew.log`) and
//! on stdout. With `SD_NEW_FAIL` set, `new` fails with that text (the process logs it and exits
//! 1); else each tick logs `tick <n>` and tick 3 asks for a stop (SIGTERM to itself).

// `self: &mut Self` is what this binary checks the attribute accepts.
#![allow(clippy::needless_arbitrary_self_type)]

use simple_daemon::daemon;
use simple_daemon::log::info;

type Res<T> = std::result::Result<T, std::io::Error>;

struct TryNew {
    n: u64,
}

#[daemon(name = "TryNew", log_path = ".", interval = "10ms", stream)]
impl TryNew {
    fn new() -> Res<Self> {
        match std::env::var("SD_NEW_FAIL") {
            Ok(why) => Err(std::io::Error::other(why)),
            Err(_) => Ok(TryNew { n: 0 }),
        }
    }

    fn tick(self: &mut Self) {
        self.n += 1;
        info!("tick {}", self.n);
        if self.n == 3 {
            // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        }
    }

    fn on_stop(self: &mut Self) {
        info!("stopped after {} ticks", self.n);
    }
}
