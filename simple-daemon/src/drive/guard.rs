//! The guard driver: [`SimpleDaemon::start`] and [`Running`], the seed's hand-written-loop form,
//! `with SimpleDaemon('MyDaemon') as sdh:`, over the [`lifecycle`](crate::lifecycle).
//!
//! Promises: on start the seed's lines are logged and the handlers installed; `READY=1` is sent;
//! [`Running::sleep`] returns at once on a stop request and keeps systemd's watchdog fed;
//! a reload is acknowledged to systemd (`RELOADING=1` at the SIGHUP, `READY=1` once the user
//! took it, see [`Running::reload_requested`]) and never during a stop; dropping the guard logs
//! `Graceful Interrupt...`, tells systemd `STOPPING=1` (once in all) and flushes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::SimpleDaemon;
use crate::context::{far_future, Context, Wake, RELOAD, STOP};
use crate::error::{Error, Exit};
use crate::lifecycle;

/// A started daemon whose loop the user writes; made by
/// [`SimpleDaemon::start`].
///
/// In passive mode a SIGINT/SIGTERM sets [`interrupted`](Self::interrupted) and cuts
/// [`sleep`](Self::sleep) short; in aggressive mode it ends the process at once from the signal
/// thread (no destructor runs, this guard's included). SIGHUP re-opens the log file, and the
/// loop can ask for it with [`reload_requested`](Self::reload_requested).
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
    /// A reload was handed to the user ([`Running::reload_requested`] returned `true`):
    /// `READY=1` is owed at the guard's next call.
    owes_ready: AtomicBool,
}

impl SimpleDaemon {
    /// Start the seed's hand-written-loop form: the Rust `with SimpleDaemon('MyDaemon') as sdh:`.
    ///
    /// Installs logging and the SIGINT/SIGTERM/SIGHUP handling, logs `PID: <pid>`,
    /// `Set signal handler: 2`, `Set signal handler: 15`, `Mode: <MODE>` and
    /// `Logging to <path>`, tells systemd `READY=1`, and returns the guard. Dropping the guard
    /// logs `Graceful Interrupt...`.
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
        let shared = lifecycle::startup(&config, false, false)?;
        shared.health.set_ready();
        shared.announce_ready();
        Ok(Running {
            ctx: Context::new(Arc::clone(&shared)),
            owes_ready: AtomicBool::new(false),
        })
    }
}

impl Running {
    /// Whether a stop has been requested (the seed's `interrupted`).
    pub fn interrupted(&self) -> bool {
        self.settle_reload();
        self.ctx.interrupted()
    }

    /// Whether a reload (SIGHUP) was requested since the last call that returned `true`: it
    /// returns `true` once per reload (SIGHUPs that arrive before the loop asks count as one).
    ///
    /// What systemd is told stays true: `RELOADING=1` when the SIGHUP arrives, and `READY=1`
    /// once the loop has taken the reload, that is at the guard's next call after the one
    /// that returned `true` (this one, [`sleep`](Self::sleep) or
    /// [`interrupted`](Self::interrupted)). So: ask, reload, then go on calling the guard.
    /// A reload during a stop is neither returned nor acknowledged.
    ///
    /// A guard whose loop never asks gets each SIGHUP acknowledged at once (re-opening the log
    /// file is then the whole reload). From its first call on, the guard takes reloads: a SIGHUP
    /// also cuts [`sleep`](Self::sleep) short, so the loop can take the reload at once.
    ///
    /// ```no_run
    /// use simple_daemon::SimpleDaemon;
    /// use std::time::Duration;
    ///
    /// let daemon = SimpleDaemon::new("MyDaemon").start()?;
    /// while !daemon.interrupted() {
    ///     if daemon.reload_requested() {
    ///         simple_daemon::log::info!("reading the configuration again");
    ///     }
    ///     simple_daemon::log::info!("working");
    ///     daemon.sleep(Duration::from_secs(60)); // READY=1 here, after a reload
    /// }
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn reload_requested(&self) -> bool {
        self.settle_reload();
        let shared = &self.ctx.shared;
        shared.take_reloads();
        if shared.stop_requested() || !shared.take(RELOAD) {
            return false;
        }
        self.owes_ready.store(true, Ordering::Release);
        true
    }

    /// Acknowledge a reload the user took (`READY=1`), unless a stop was requested since.
    fn settle_reload(&self) {
        if self.owes_ready.swap(false, Ordering::AcqRel) {
            self.ctx.shared.announce_reloaded();
        }
    }

    /// Sleep for `duration`, returning at once when a stop is requested (or, once the loop asks
    /// [`reload_requested`](Self::reload_requested), a reload), and feeding systemd's watchdog
    /// meanwhile. Returns `true` when it slept the whole time.
    pub fn sleep(&self, duration: Duration) -> bool {
        self.settle_reload();
        let shared = &self.ctx.shared;
        let end = Instant::now().checked_add(duration).unwrap_or_else(far_future);
        loop {
            shared.keep_alive(Instant::now());
            // RELOAD is raised only once the guard takes reloads.
            match shared.wait(shared.wake_for_watchdog(end), STOP | RELOAD) {
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
