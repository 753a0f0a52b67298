//! The signal thread: the stop decision.
//!
//! Promises: SIGINT and SIGTERM request a stop, SIGHUP a reload; the signal handlers themselves
//! (signal-hook's) only write to a pipe, so no allocation, lock or log happens inside a handler;
//! everything else happens on this dedicated thread, which never blocks on a lock user code may
//! hold: it logs through the bounded path, and an aggressive stop exits the process within
//! [`FLUSH_WAIT`] even when the tick is stuck inside a sink.

use std::fmt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::Level;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::config::Mode;
use crate::context::{Shared, RELOAD, STOP};
use crate::error::Error;
use crate::logging;

/// The longest the signal thread waits for a log sink that the tick holds, per stop.
pub(crate) const FLUSH_WAIT: Duration = Duration::from_millis(500);

/// The signals handled, in the order the seed logs them (`Set signal handler: 2`, `... 15`).
const HANDLED: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Install the handlers. Signals that arrive from now on are queued (in signal-hook's pipe)
/// until [`spawn`] starts the thread that acts on them, so a SIGTERM during start-up is a stop,
/// not a death by the default action.
pub(crate) fn install() -> Result<Signals, Error> {
    Signals::new(HANDLED).map_err(Error::Signals)
}

/// Start the signal thread on handlers made by [`install`].
pub(crate) fn spawn(mut signals: Signals, shared: Arc<Shared>) -> Result<(), Error> {
    for signo in HANDLED {
        log::debug!("Set signal handler: {signo}");
    }
    thread::Builder::new()
        .name("simple-daemon-signals".into())
        .spawn(move || {
            for signo in signals.forever() {
                on_signal(&shared, signo);
            }
        })
        .map_err(Error::Signals)?;
    Ok(())
}

/// Log through the bounded path (never waits past `deadline` for a sink).
fn log_bounded(level: Level, args: fmt::Arguments<'_>, deadline: Instant) {
    if let Some(l) = logging::global() {
        l.log_bounded(level, args, deadline);
    }
}

fn on_signal(shared: &Arc<Shared>, signo: i32) {
    let deadline = Instant::now() + FLUSH_WAIT;
    if signo == SIGHUP {
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
        if let Some(Err(e)) = logging::global().map(|l| l.reopen()) {
            log_bounded(
                Level::Warn,
                format_args!("cannot re-open the log file: {e}"),
                deadline,
            );
        }
        if shared.has_loop {
            shared.raise(RELOAD);
        } else {
            shared.notify.reloading();
            shared.notify.ready();
        }
        return;
    }
    let before = shared.raise(STOP);
    if before & STOP != 0 {
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
        stop_at_once(
            shared,
            Some(format_args!(
                "Second stop signal ({signo}): stopping at once, without waiting for the tick in progress"
            )),
        );
        return;
    }
    shared.set_stop_signal(signo);
    match shared.mode {
        Mode::Aggressive => {
            log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
            stop_at_once(shared, None);
        }
        Mode::Passive => {
            log_bounded(Level::Info, format_args!("interrupted == True"), deadline);
            log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
            shared.notify.stopping();
            if let Some(timeout) = shared.stop_timeout {
                let shared = Arc::clone(shared);
                let spawned = thread::Builder::new().name("simple-daemon-stop-timer".into()).spawn(move || {
                    thread::sleep(timeout);
                    stop_at_once(
                        &shared,
                        Some(format_args!(
                            "stop_timeout of {timeout:?} elapsed: stopping at once, without waiting for the tick in progress"
                        )),
                    );
                });
                if let Err(e) = spawned {
                    log_bounded(
                        Level::Warn,
                        format_args!("cannot start the stop_timeout timer: {e}"),
                        deadline,
                    );
                }
            }
        }
    }
}

/// End the process now, from this thread: log `Graceful Interrupt...` (after `warn`, the reason
/// for an escalation), tell systemd `STOPPING=1`, flush every sink within [`FLUSH_WAIT`], and
/// `_exit(0)`. Returns only if another thread already owns the end of the process.
pub(crate) fn stop_at_once(shared: &Shared, warn: Option<fmt::Arguments<'_>>) {
    if !shared.claim_exit() {
        return;
    }
    let deadline = Instant::now() + FLUSH_WAIT;
    if let Some(w) = warn {
        log_bounded(Level::Warn, w, deadline);
    }
    log_bounded(Level::Info, format_args!("Graceful Interrupt..."), deadline);
    shared.notify.stopping();
    if let Some(l) = logging::global() {
        l.flush_bounded(deadline);
    }
    // SAFETY: `_exit` ends the process without running atexit handlers or destructors, which
    // is the point: user code is still running on other threads and must not be waited for.
    // Every sink was flushed above.
    unsafe { libc::_exit(0) }
}
