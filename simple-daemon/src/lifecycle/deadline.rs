//! The deadline of the end of the process: a thread, started at start-up, that ends the process
//! with `_exit` when an end that has begun is not over by its deadline.
//!
//! Promises: once [`arm`]ed, the process is gone by the deadline (plus the scheduler's delay),
//! whatever another thread is blocked in, as long as the kernel lets a kill end that wait (a
//! full pipe, a stopped terminal, a FUSE or NFS file system). A thread inside `write(2)` on a
//! frozen file system (`fsfreeze`) is the exception nothing in user space can help: the kernel
//! holds the whole process until the thaw, even after `_exit`; the end then completes at once
//! after the thaw, with nothing lost. Nothing is spawned or allocated at stop time: [`arm`] and
//! [`disarm`] take a lock the deadline thread only holds between waits.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::Instant;

use crate::error::Error;

/// The armed deadline and the status to exit with, if any.
static ARMED: Mutex<Option<(Instant, i32)>> = Mutex::new(None);
/// Wakes the deadline thread when [`ARMED`] changes.
static CHANGED: Condvar = Condvar::new();
/// The status of the run that ended, for the deadline armed at `exit(3)` (see [`start`]).
static ENDED: Mutex<Option<i32>> = Mutex::new(None);

/// Start the deadline thread, once per process, and register the `atexit` handler that arms it
/// with the ended run's status when the process exits after a run (the final flush of the log
/// sinks runs from `atexit` too).
///
/// # Errors
///
/// [`Error::Signals`] when the thread cannot be spawned.
pub(crate) fn start() -> Result<(), Error> {
    static STARTED: OnceLock<()> = OnceLock::new();
    if STARTED.get().is_some() {
        return Ok(());
    }
    thread::Builder::new()
        .name("simple-daemon-deadline".into())
        .spawn(watch)
        .map_err(Error::Signals)?;
    let _ = STARTED.set(());
    // SAFETY: `arm_at_exit` is an `extern "C" fn()` that never unwinds. Registered after the
    // logging's own `atexit` flush, it runs before it.
    unsafe { libc::atexit(arm_at_exit) };
    Ok(())
}

/// End the process with `_exit(status)` at `at`, unless [`disarm`]ed before. An earlier armed
/// deadline is kept.
pub(crate) fn arm(at: Instant, status: i32) {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    *armed = Some(match *armed {
        Some((earlier, s)) if earlier <= at => (earlier, s),
        _ => (at, status),
    });
    CHANGED.notify_all();
}

/// The end is over and the process goes on (a guard was dropped): no deadline any more. The
/// status is kept for the deadline armed when the process exits.
pub(crate) fn disarm(status: i32) {
    *ENDED.lock().unwrap_or_else(PoisonError::into_inner) = Some(status);
    *ARMED.lock().unwrap_or_else(PoisonError::into_inner) = None;
    CHANGED.notify_all();
}

/// The process exits after a run ended: bound the rest of the exit (the logging's final flush)
/// with the same deadline as the end of a stop.
extern "C" fn arm_at_exit() {
    let ended = *ENDED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(status) = ended {
        arm(Instant::now() + super::END_WAIT, status);
    }
}

/// The deadline thread: wait for a deadline, then for it to pass, then `_exit`.
fn watch() {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        match *armed {
            None => armed = CHANGED.wait(armed).unwrap_or_else(PoisonError::into_inner),
            Some((at, status)) => {
                let now = Instant::now();
                if now >= at {
                    // SAFETY: `_exit` ends the process without running atexit handlers or
                    // destructors, which is the point: the end that was begun is stuck.
                    unsafe { libc::_exit(status) }
                }
                armed = CHANGED
                    .wait_timeout(armed, at - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
}
