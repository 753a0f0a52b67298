//! The deadline of the end of the process: a thread, started at start-up, that ends the process
//! with `_exit` when an end that has begun is not over by its deadline, and raises a passive
//! stop whose announcement is stuck in a sink.
//!
//! Promises: once [`arm`]ed, the process is gone by the deadline (plus the scheduler's delay),
//! whatever another thread is blocked in, as long as the kernel lets a kill end that wait (a
//! full pipe, a stopped terminal, a FUSE or NFS file system). A thread inside `write(2)` on a
//! frozen file system (`fsfreeze`) is the exception nothing in user space can help: the kernel
//! holds the whole process until the thaw, even after `_exit`, and an `_exit` would make that
//! write fail once thawed. So while one of the process's threads waits at a file system's
//! freeze gate (its kernel wait channel is `percpu_rwsem_wait`), the deadlines wait too; the
//! end then completes at once after the thaw, with nothing lost. Once [`arm_stop`]ped, the stop is raised by its deadline
//! unless [`stop_announced`] came first. Nothing is spawned or allocated at stop time: the
//! arming functions take a lock the deadline thread only holds between waits.

use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::context::{Shared, STOP};
use crate::error::{Error, EXIT_PANIC};

/// What is armed.
struct Armed {
    /// When to `_exit`, and with which status.
    exit: Option<(Instant, i32)>,
    /// When to raise the stop of a passive run whose announcement is stuck.
    stop: Option<(Instant, Arc<Shared>)>,
    /// When to `_exit(101)` if the panic hook of the driver's thread is still stuck.
    panic: Option<Instant>,
}

static ARMED: Mutex<Armed> = Mutex::new(Armed {
    exit: None,
    stop: None,
    panic: None,
});
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
    armed.exit = Some(match armed.exit {
        Some((earlier, s)) if earlier <= at => (earlier, s),
        _ => (at, status),
    });
    CHANGED.notify_all();
}

/// Raise `shared`'s stop at `at`, unless [`stop_announced`] is called before: a passive stop
/// logs its lines before it raises the stop, and a sink blocked in the kernel must not keep it
/// from being raised.
pub(crate) fn arm_stop(at: Instant, shared: &Arc<Shared>) {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    armed.stop = Some((at, Arc::clone(shared)));
    CHANGED.notify_all();
}

/// A panic on the driver's thread is being reported (logged, then printed by the previous hook
/// on stderr): `_exit(101)` at `at` if that is still not done, since the panic ends the run.
pub(crate) fn arm_panic(at: Instant) {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    armed.panic = Some(at);
    CHANGED.notify_all();
}

/// The panic was reported: the run goes on to its end (or the user's code caught the panic).
pub(crate) fn panic_reported() {
    ARMED.lock().unwrap_or_else(PoisonError::into_inner).panic = None;
}

/// The passive stop's lines are written: nothing to raise for it.
pub(crate) fn stop_announced() {
    ARMED.lock().unwrap_or_else(PoisonError::into_inner).stop = None;
}

/// The end is over and the process goes on (a guard was dropped): no deadline any more. The
/// status is kept for the deadline armed when the process exits.
pub(crate) fn disarm(status: i32) {
    *ENDED.lock().unwrap_or_else(PoisonError::into_inner) = Some(status);
    ARMED.lock().unwrap_or_else(PoisonError::into_inner).exit = None;
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

/// How often the deadline looks again while a thread waits at a freeze gate.
const FREEZE_POLL: Duration = Duration::from_millis(50);

/// Whether another thread of this process waits at a file system's freeze gate (`fsfreeze`):
/// its kernel wait channel (`/proc/self/task/<tid>/wchan`) is `percpu_rwsem_wait`, where
/// `sb_start_write` and `mnt_want_write` sleep. `false` when `/proc` cannot tell.
fn at_a_freeze_gate() -> bool {
    // SAFETY: gettid(2) has no preconditions.
    let me = unsafe { libc::gettid() }.to_string();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.filter_map(Result::ok).any(|t| {
        t.file_name().to_str() != Some(me.as_str())
            && std::fs::read(t.path().join("wchan")).is_ok_and(|w| w == b"percpu_rwsem_wait")
    })
}

/// The deadline thread: wait for a deadline, then for it to pass, then `_exit` (or raise the
/// stuck stop).
fn watch() {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = Instant::now();
        let exit = [armed.exit, armed.panic.map(|at| (at, i32::from(EXIT_PANIC)))]
            .into_iter()
            .flatten()
            .min_by_key(|e| e.0);
        let due =
            exit.is_some_and(|(at, _)| now >= at) || armed.stop.as_ref().is_some_and(|(at, _)| now >= *at);
        if due && at_a_freeze_gate() {
            // Nothing ends that wait before the thaw; `_exit` would only make the write fail
            // then, and raising the stop would race the stuck lines. Look again shortly: after
            // the thaw the end (or the stop's announcement) completes by itself.
            armed = CHANGED
                .wait_timeout(armed, FREEZE_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        if let Some((at, status)) = exit {
            if now >= at {
                // SAFETY: `_exit` ends the process without running atexit handlers or
                // destructors, which is the point: the end that was begun is stuck.
                unsafe { libc::_exit(status) }
            }
        }
        if armed.stop.as_ref().is_some_and(|(at, _)| now >= *at) {
            if let Some((_, shared)) = armed.stop.take() {
                drop(armed);
                shared.raise(STOP);
                armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
            }
            continue;
        }
        let next = [exit.map(|e| e.0), armed.stop.as_ref().map(|s| s.0)]
            .into_iter()
            .flatten()
            .min();
        armed = match next {
            None => CHANGED.wait(armed).unwrap_or_else(PoisonError::into_inner),
            Some(at) => {
                CHANGED
                    .wait_timeout(armed, at.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}
