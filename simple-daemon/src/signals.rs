//! The signal thread: the stop decision.
//!
//! Promises: SIGINT and SIGTERM request a stop, SIGHUP a reload; the signal handlers themselves
//! (signal-hook's) only write to a pipe, so no allocation, lock or log happens inside a handler;
//! everything else happens on this dedicated thread, which never blocks on a lock user code may
//! hold: it logs through the bounded path, and an aggressive stop exits the process within
//! [`FLUSH_WAIT`] (plus one notification's send timeout) even when the tick is stuck inside a
//! sink.

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
use crate::notify::EXTEND_STEP;

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
    if shared.done() {
        // The run is over (the guard was dropped) and the program goes on without a daemon:
        // the signal does what it would have done without one.
        let _ = signal_hook::low_level::emulate_default_handler(signo);
        return;
    }
    if shared.exiting() {
        // The end of the process is under way (its `Graceful Interrupt...` may be logged
        // already): a late signal must not add lines after it.
        return;
    }
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
    // Only this thread raises STOP, so checking before raising is race-free. The stop lines are
    // logged BEFORE the stop is raised: once STOP is up the tick loop may finish the run and
    // exit the process, and lines this thread had not yet written would be lost (a busy sink
    // can delay them by up to FLUSH_WAIT).
    if shared.events() & STOP != 0 {
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
        stop_at_once(
            shared,
            Some(format_args!(
                "Second stop signal ({signo}): stopping at once, without waiting for the tick in progress"
            )),
            deadline,
        );
        return;
    }
    match shared.mode {
        Mode::Aggressive => {
            log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
            // Claims the end of the process before the tick loop can see a stop, so `on_stop`
            // never runs on an aggressive stop.
            stop_at_once(shared, None, deadline);
            shared.raise(STOP);
        }
        Mode::Passive => {
            log_bounded(Level::Info, format_args!("interrupted == True"), deadline);
            log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
            shared.raise(STOP);
            shared.notify.stopping();
            if let Some(timeout) = shared.stop_timeout {
                let shared = Arc::clone(shared);
                let spawned = thread::Builder::new()
                    .name("simple-daemon-stop-timer".into())
                    .spawn(move || stop_watch(&shared, timeout));
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

/// The passive stop's watch, when `stop_timeout` is set: escalate when it elapses, and meanwhile,
/// under a notify socket, extend systemd's stop timeout (`EXTEND_TIMEOUT_USEC`) by at most
/// [`EXTEND_STEP`] at a time and never past the escalation (plus [`FLUSH_WAIT`]).
///
/// Without `stop_timeout` nothing is extended: the tick may take as long as it takes, and the
/// unit's `TimeoutStopSec=` stays the operator's bound on a tick that never returns.
fn stop_watch(shared: &Shared, timeout: Duration) {
    // A timeout too large for an `Instant` never elapses.
    let escalate_at = Instant::now().checked_add(timeout);
    loop {
        let now = Instant::now();
        let left = escalate_at.map_or(EXTEND_STEP, |e| e.saturating_duration_since(now));
        if left.is_zero() {
            stop_at_once(
                shared,
                Some(format_args!(
                    "stop_timeout of {timeout:?} elapsed: stopping at once, without waiting for the tick in progress"
                )),
                now + FLUSH_WAIT,
            );
            return;
        }
        shared.notify.extend_timeout(left.min(EXTEND_STEP) + FLUSH_WAIT);
        thread::sleep(left.min(EXTEND_STEP / 2));
    }
}

/// End the process now, from this thread: log `Graceful Interrupt...` (after `warn`, the reason
/// for an escalation), tell systemd `STOPPING=1`, flush every sink, and `_exit(0)`. No sink is
/// waited for past `deadline`: the caller's, shared with the lines it logged before, so the
/// whole stop waits [`FLUSH_WAIT`] at most for the sinks (plus one notification's send timeout).
/// Returns only if another thread already owns the end of the process.
pub(crate) fn stop_at_once(shared: &Shared, warn: Option<fmt::Arguments<'_>>, deadline: Instant) {
    if !shared.claim_exit() {
        return;
    }
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
