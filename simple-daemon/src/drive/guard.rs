//! The guard driver: [`SimpleDaemon::start`] and [`Running`], the seed's hand-written-loop form,
//! `with SimpleDaemon('MyDaemon') as sdh:`, over the [`lifecycle`](crate::lifecycle).
//!
//! Promises: on start the seed's lines are logged and the handlers installed; `READY=1` is sent;
//! [`Running::sleep`] returns at once on a stop request and keeps systemd's watchdog fed;
//! a reload is acknowledged to systemd (`RELOADING=1`, `READY=1`) at the SIGHUP, and never
//! during a stop; dropping the guard logs
//! `Graceful Interrupt...`, tells systemd `STOPPING=1` (once in all) and flushes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::SimpleDaemon;
use crate::context::{far_future, Context, Wake, STOP};
use crate::error::{Error, Exit};
use crate::lifecycle;

/// A started daemon whose loop the user writes; made by
/// [`SimpleDaemon::start`].
///
/// In passive mode a SIGINT/SIGTERM sets [`interrupted`](Self::interrupted) and cuts
/// [`sleep`](Self::sleep) short; in aggressive mode it ends the process at once from the signal
/// thread (no destructor runs, this guard's included). SIGHUP re-opens the log file.
///
/// ```no_run
/// use simple_daemon::SimpleDaemon;
/// use std::time::Duration;
///
/// let daemon = SimpleDaemon::new("MyDaemon").start()?;
/// while !daemon.interrupted() {
///     simple_daemon::log::info!("working");
///     daemon.sleep(Duration::from_secs(60));
/// }
/// drop(daemon); // logs "Graceful Interrupt..."
/// # Ok::<(), simple_daemon::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard ends the daemon at once"]
pub struct Running {
    ctx: Context,
}

impl SimpleDaemon {
    /// Start the seed's hand-written-loop form: the Rust `with SimpleDaemon('MyDaemon') as sdh:`.
    ///
    /// Installs logging and the SIGINT/SIGTERM/SIGHUP handling, logs `PID: <pid>`,
    /// `Set signal handler: 2`, `Set signal handler: 15` and `Mode: <MODE>`, tells systemd
    /// `READY=1`, and returns the guard. Dropping the guard logs `Graceful Interrupt...`.
    ///
    /// # Errors
    ///
    /// Any [`Error`]: a bad setting, an unusable log location or syslog socket, a daemon already
    /// started in this process.
    ///
    /// The form that exits as the generated daemons do (the error's sentence on stderr and
    /// status 78, see [`Error::report`]); `fn main() -> Result<(), simple_daemon::Error>` with
    /// `?` works too, but exits 1 after printing `Error: <sentence>`:
    ///
    /// ```no_run
    /// use simple_daemon::{Exit, Mode, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// # fn do_work() {}
    /// fn main() -> Exit {
    ///     let daemon = match SimpleDaemon::new("MyDaemon").mode(Mode::Passive).start() {
    ///         Ok(daemon) => daemon,
    ///         Err(e) => return e.report(), // one sentence on stderr, exit status 78
    ///     };
    ///     while !daemon.interrupted() {
    ///         do_work();
    ///         daemon.sleep(Duration::from_secs(60)); // returns at once on SIGTERM
    ///     }
    ///     Exit::Stopped // dropping `daemon` logs "Graceful Interrupt..."
    /// }
    /// ```
    pub fn start(&self) -> Result<Running, Error> {
        let config = self.config()?;
        let shared = lifecycle::startup(&config, false)?;
        shared.notify.ready();
        Ok(Running {
            ctx: Context::new(Arc::clone(&shared)),
        })
    }
}

impl Running {
    /// Whether a stop has been requested (the seed's `interrupted`).
    pub fn interrupted(&self) -> bool {
        self.ctx.interrupted()
    }

    /// Sleep for `duration`, returning at once when a stop is requested, and feeding systemd's
    /// watchdog meanwhile. Returns `true` when it slept the whole time.
    pub fn sleep(&self, duration: Duration) -> bool {
        let shared = &self.ctx.shared;
        let end = Instant::now().checked_add(duration).unwrap_or_else(far_future);
        loop {
            shared.keep_alive(Instant::now());
            match shared.wait(shared.wake_for_watchdog(end), STOP) {
                Wake::Event(_) => return false,
                Wake::Deadline if Instant::now() >= end => return true,
                Wake::Deadline => {}
            }
        }
    }

    /// The daemon's name.
    pub fn name(&self) -> &str {
        self.ctx.name()
    }

    /// Tell systemd a one-line status (`STATUS=`); nothing is sent without `$NOTIFY_SOCKET`.
    pub fn status(&self, status: &str) {
        self.ctx.status(status);
    }

    /// The [`Context`], to hand to code written for a `tick`.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let exit = if std::thread::panicking() {
            Exit::Panicked
        } else {
            Exit::Stopped
        };
        lifecycle::finish(&self.ctx.shared, exit);
    }
}
