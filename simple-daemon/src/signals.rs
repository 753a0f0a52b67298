//! The signal thread: turns SIGINT, SIGTERM and SIGHUP into lifecycle events, nothing else.
//!
//! Promises: SIGINT and SIGTERM are stop events, SIGHUP a reload event; the signal handlers
//! themselves (signal-hook's) only write to a pipe, so no allocation, lock or log happens inside a
//! handler; everything else happens on this dedicated thread, in the handler
//! [`lifecycle`](crate::lifecycle) gives [`spawn`], which never blocks on a lock user code may
//! hold.

use std::thread;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::Error;

/// The signals handled, in the order the seed logs them (`Set signal handler: 2`, `... 15`).
const HANDLED: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// What a signal asks of the daemon's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// SIGINT or SIGTERM (the signal's number).
    Stop(i32),
    /// SIGHUP (the signal's number).
    Reload(i32),
}

impl Event {
    /// The signal's number.
    pub(crate) fn signo(self) -> i32 {
        match self {
            Event::Stop(s) | Event::Reload(s) => s,
        }
    }
}

/// Install the handlers. Signals that arrive from now on are queued (in signal-hook's pipe)
/// until [`spawn`] starts the thread that acts on them, so a SIGTERM during start-up is a stop,
/// not a death by the default action.
pub(crate) fn install() -> Result<Signals, Error> {
    Signals::new(HANDLED).map_err(Error::Signals)
}

/// Give the handled signals their default actions back, after a start that failed once the
/// handlers were installed (the handlers made by [`install`] are dropped by then).
pub(crate) fn restore_defaults() {
    for signo in HANDLED {
        // SAFETY: setting a signal's disposition to `SIG_DFL` has no memory-safety
        // preconditions.
        unsafe { libc::signal(signo, libc::SIG_DFL) };
    }
}

/// Start the signal thread on handlers made by [`install`]: each signal becomes one call of
/// `on_event`, on that thread.
pub(crate) fn spawn(
    mut signals: Signals,
    mut on_event: impl FnMut(Event) + Send + 'static,
) -> Result<(), Error> {
    for signo in HANDLED {
        crate::logging::lifecycle(log::Level::Debug, format_args!("Set signal handler: {signo}"));
    }
    thread::Builder::new()
        .name("simple-daemon-signals".into())
        .spawn(move || {
            for signo in signals.forever() {
                if signo == SIGHUP {
                    on_event(Event::Reload(signo));
                } else {
                    on_event(Event::Stop(signo));
                }
            }
        })
        .map_err(Error::Signals)?;
    Ok(())
}
