//! The signal thread: turns SIGINT, SIGTERM and SIGHUP into lifecycle events, nothing else.
//!
//! Promises: SIGINT and SIGTERM are stop events, SIGHUP a reload event; the signal handlers
//! themselves (signal-hook's) only write to a pipe, so no allocation, lock or log happens inside a
//! handler; everything else happens on this dedicated thread, in the handler
//! [`lifecycle`](crate::lifecycle) gives [`spawn`], which never blocks on a lock user code may
//! hold; besides, the handler of SIGINT and SIGTERM sets one flag ([`stop_signalled`]), so what
//! must answer "stopping" the moment the signal lands (`/readyz`) does not wait for this thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
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
    // The flag first: signal-hook runs a signal's actions in the order they were registered,
    // so the store comes before the pipe's `write(2)`.
    let flag = STOP_SIGNALLED.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signo in [SIGINT, SIGTERM] {
            // Set inside the handler, beside signal-hook's pipe write (an atomic store is
            // async-signal-safe). Once per process: `install` runs again after a guard ended.
            if let Err(e) = signal_hook::flag::register(signo, Arc::clone(&flag)) {
                log::debug!(
                    "no in-handler stop flag for signal {signo} ({e}); /readyz follows the signal thread"
                );
            }
        }
        flag
    });
    flag.store(false, Ordering::SeqCst);
    Signals::new(HANDLED).map_err(Error::Signals)
}

/// Set by the SIGINT/SIGTERM handler itself since the last [`install`].
static STOP_SIGNALLED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Whether a SIGINT or SIGTERM has arrived since the handlers were installed, as seen by the
/// handler itself: true from the moment the signal is delivered, before the signal thread has
/// read it.
///
/// A signal sent to the process is handled by one thread of the kernel's choosing, which may
/// not have run yet when another thread asks; so this first lets the calling thread take a
/// pending signal itself: changing its signal mask makes Linux look at the process's pending
/// signals again (`recalc_sigpending`), and one that is pending is handled on this thread as
/// the call returns, before the flag is read.
#[cfg_attr(not(feature = "admin"), allow(dead_code))] // `/readyz` is its reader
pub(crate) fn stop_signalled() -> bool {
    let Some(flag) = STOP_SIGNALLED.get() else {
        return false;
    };
    take_pending_here();
    flag.load(Ordering::SeqCst)
}

/// Block SIGWINCH on this thread for an instant: the mask's change has the kernel deliver any
/// pending process signal to this thread on return.
#[cfg_attr(not(feature = "admin"), allow(dead_code))]
fn take_pending_here() {
    // SAFETY: `sigemptyset`/`sigaddset` fill a local set; `pthread_sigmask` changes only the
    // calling thread's mask and is restored at once to what it was.
    unsafe {
        let mut winch = std::mem::zeroed::<libc::sigset_t>();
        let mut old = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut winch);
        libc::sigaddset(&mut winch, libc::SIGWINCH);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &winch, &mut old) == 0 {
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
    }
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
