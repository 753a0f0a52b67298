//! [`Context`]: what a running tick can ask of its daemon, and the stop state behind it.
//!
//! The stop state is shared by the tick loop, the signal thread and the guard. It is a word of
//! event bits read with one atomic load per tick, plus a mutex and condvar that only sleepers
//! wait on, so a stop or reload request wakes any sleep at once.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Mode;
use crate::health::Health;
use crate::notify::{Notifier, Watchdog};

/// Event bit: a stop was requested.
pub(crate) const STOP: u8 = 1;
/// Event bit: a reload (SIGHUP) is pending.
pub(crate) const RELOAD: u8 = 2;
/// Event bit: the driver must cancel the user's code now (an aggressive or escalated stop of a
/// driver that can cancel it, see [`Shared::cancellable`]).
pub(crate) const CANCEL: u8 = 4;

/// Phase: running, nobody is ending the process.
const RUNNING: u8 = 0;
/// Phase: one thread owns the end of the process.
const EXITING: u8 = 1;
/// Phase: the run is over (a guard was dropped); the process may go on without a daemon.
const DONE: u8 = 2;

/// The state shared by the tick loop, the signal thread and the [`Context`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) stop_timeout: Option<Duration>,
    pub(crate) notify: Notifier,
    /// The watchdog pinger, when systemd asked for one: shared by the driver and the tick.
    pub(crate) watchdog: Option<Watchdog>,
    /// Liveness, readiness, `tick_timeout` and the hooks around each tick.
    pub(crate) health: Arc<Health>,
    /// Whether the driver takes reloads (the tick loop always; the guard once its user asked
    /// [`reload_requested`](crate::Running::reload_requested)): then a SIGHUP raises
    /// [`RELOAD`] and `READY=1` waits for the driver; otherwise the signal thread acknowledges
    /// the reload (re-opening the log file) at once.
    takes_reloads: AtomicBool,
    /// What systemd was told of the daemon's state, under one lock so the messages go out in
    /// a true order: `READY=1` once start-up is done, never after `STOPPING=1`; `RELOADING=1`
    /// only after that first `READY=1`; `STOPPING=1` once.
    told: Mutex<Told>,
    /// Whether the driver can cancel the user's code (the async driver): then an aggressive or
    /// escalated stop raises [`CANCEL`] and waits a bounded time for [`user_code_over`]
    /// (Self::user_code_over) before it ends the process without it.
    cancellable: bool,
    /// Whether a cancellation was begun (it is begun once).
    cancel_begun: AtomicBool,
    /// Whether the driver will run no more user code (its futures and the state are dropped).
    user_code_over: AtomicBool,
    /// Told of every change of the event bits (the async driver's wake-up), once installed.
    listener: OnceLock<Box<dyn Listener>>,
    events: AtomicU8,
    phase: AtomicU8,
    /// Held by [`claim_exit`](Self::claim_exit) and by [`before_the_end`](Self::before_the_end).
    end_order: Mutex<()>,
    lock: Mutex<()>,
    cond: Condvar,
}

/// What a driver installs to hear of the event bits as they are raised (see
/// [`Shared::listener`]): `sync` gets every bit raised so far, so a call is idempotent.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) trait Listener: Any + Send + Sync + std::fmt::Debug {
    /// The event bits are now (at least) `events`.
    fn sync(&self, events: u8);
}

/// What systemd was told (see [`Shared::announce_ready`] and the methods beside it).
#[derive(Debug, Default)]
struct Told {
    /// `READY=1` went out once start-up was done.
    ready: bool,
    /// `RELOADING=1` went out and its `READY=1` has not yet.
    reloading: bool,
    /// `STOPPING=1` went out.
    stopping: bool,
}

/// Why [`Shared::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The deadline passed.
    Deadline,
    /// One of the awaited event bits is set (the bits).
    Event(u8),
}

impl Shared {
    pub(crate) fn new(
        name: String,
        mode: Mode,
        stop_timeout: Option<Duration>,
        notify: Notifier,
        takes_reloads: bool,
        cancellable: bool,
    ) -> Self {
        Shared {
            name,
            mode,
            stop_timeout,
            watchdog: Watchdog::new(&notify),
            health: Arc::new(Health::new(None)),
            notify,
            takes_reloads: AtomicBool::new(takes_reloads),
            told: Mutex::new(Told::default()),
            cancellable,
            cancel_begun: AtomicBool::new(false),
            user_code_over: AtomicBool::new(false),
            listener: OnceLock::new(),
            events: AtomicU8::new(0),
            phase: AtomicU8::new(RUNNING),
            end_order: Mutex::new(()),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// The same state with this health (`tick_timeout`) in place of the default.
    pub(crate) fn with_health(mut self, health: Health) -> Self {
        self.health = Arc::new(health);
        self
    }

    /// The pending event bits (one relaxed-acquire load: the per-tick check).
    #[inline]
    pub(crate) fn events(&self) -> u8 {
        self.events.load(Ordering::Acquire)
    }

    /// Set event bits and wake every sleeper. Returns the bits that were set before.
    pub(crate) fn raise(&self, bits: u8) -> u8 {
        // Set the bits under the lock so a sleeper between its check and its wait cannot miss
        // the wake-up.
        let _g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.events.fetch_or(bits, Ordering::AcqRel);
        self.cond.notify_all();
        if let Some(l) = self.listener.get() {
            l.sync(before | bits);
        }
        before
    }

    /// The listener of type `L`, installed by `make` on first use and brought up to date with
    /// the bits raised before it was installed. `None` only if a listener of another type was
    /// installed first (one driver per daemon installs one type).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn listener<L: Listener>(&self, make: impl FnOnce() -> L) -> Option<&L> {
        let l = self.listener.get_or_init(|| Box::new(make()));
        // A raise between `make` and the install saw no listener: catch up (idempotent).
        l.sync(self.events());
        let any: &dyn Any = &**l;
        any.downcast_ref::<L>()
    }

    /// Whether the driver can cancel the user's code (see the field).
    pub(crate) fn cancellable(&self) -> bool {
        self.cancellable
    }

    /// Begin the cancellation; `true` for the one caller that begins it.
    pub(crate) fn begin_cancel(&self) -> bool {
        !self.cancel_begun.swap(true, Ordering::AcqRel)
    }

    /// The driver will run no more user code.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn mark_user_code_over(&self) {
        self.user_code_over.store(true, Ordering::Release);
    }

    /// Whether the driver will run no more user code, or the end of the process is claimed.
    pub(crate) fn user_code_over(&self) -> bool {
        self.user_code_over.load(Ordering::Acquire) || self.exiting()
    }

    /// Clear `bits`, returning whether any of them was set.
    pub(crate) fn take(&self, bits: u8) -> bool {
        self.events.fetch_and(!bits, Ordering::AcqRel) & bits != 0
    }

    /// Sleep until `deadline` or until one of the `mask` bits is set.
    pub(crate) fn wait(&self, deadline: Instant, mask: u8) -> Wake {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let ev = self.events.load(Ordering::Acquire) & mask;
            if ev != 0 {
                return Wake::Event(ev);
            }
            let now = Instant::now();
            if now >= deadline {
                return Wake::Deadline;
            }
            guard = self
                .cond
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether a stop was requested (by a signal, or by the daemon itself).
    pub(crate) fn stop_requested(&self) -> bool {
        self.events() & STOP != 0
    }

    fn told(&self) -> MutexGuard<'_, Told> {
        self.told.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tell systemd `READY=1` at the end of start-up, unless a stop was requested meanwhile:
    /// a daemon never says it is ready after it said it is stopping.
    pub(crate) fn announce_ready(&self) {
        let mut told = self.told();
        if !told.stopping && !self.stop_requested() {
            self.notify.ready();
            told.ready = true;
        }
    }

    /// Tell systemd `RELOADING=1` for a SIGHUP, when it is true: after start-up's `READY=1`
    /// and before any stop. Returns whether it was sent; a SIGHUP before readiness is a reload
    /// systemd never hears of (start-up's own `READY=1` covers it).
    pub(crate) fn announce_reloading(&self) -> bool {
        let mut told = self.told();
        if !told.ready || told.stopping || self.stop_requested() {
            return false;
        }
        self.notify.reloading();
        told.reloading = true;
        true
    }

    /// Tell systemd `READY=1` after a reload it was told of, unless a stop came meanwhile.
    pub(crate) fn announce_reloaded(&self) {
        let mut told = self.told();
        if std::mem::take(&mut told.reloading) && !told.stopping && !self.stop_requested() {
            self.notify.ready();
        }
    }

    /// Tell systemd `STOPPING=1`, the first time only.
    pub(crate) fn announce_stopping(&self) {
        let mut told = self.told();
        if !std::mem::replace(&mut told.stopping, true) {
            self.notify.stopping();
        }
    }

    /// Ping systemd's watchdog when a ping is due (nothing without `$WATCHDOG_USEC`).
    pub(crate) fn keep_alive(&self, now: Instant) {
        if let Some(w) = &self.watchdog {
            if !self.health.live(now) {
                // A tick past `tick_timeout`: the watchdog must see the daemon as hung.
                return;
            }
            w.poll(&self.notify, now);
        }
    }

    /// When the next watchdog ping is due, if it is before `deadline`; else `deadline`.
    pub(crate) fn wake_for_watchdog(&self, deadline: Instant) -> Instant {
        self.watchdog.as_ref().map_or(deadline, |w| w.due().min(deadline))
    }

    /// Whether the driver takes reloads (see the field).
    pub(crate) fn takes_reloads(&self) -> bool {
        self.takes_reloads.load(Ordering::Acquire)
    }

    /// From now on the driver takes reloads.
    pub(crate) fn take_reloads(&self) {
        self.takes_reloads.store(true, Ordering::Release);
    }

    /// Whether a thread owns the end of the process (see [`claim_exit`](Self::claim_exit)).
    pub(crate) fn exiting(&self) -> bool {
        self.phase.load(Ordering::Acquire) != RUNNING
    }

    /// Mark the run over, once its end was logged and flushed.
    pub(crate) fn mark_done(&self) {
        self.phase.store(DONE, Ordering::Release);
    }

    /// Whether the run is over (see [`mark_done`](Self::mark_done)).
    pub(crate) fn done(&self) -> bool {
        self.phase.load(Ordering::Acquire) == DONE
    }

    /// Claim the end of the process. Exactly one caller (the tick loop finishing, the signal
    /// thread stopping aggressively, the stop timer) gets `true`; the others must not log the
    /// end of the run nor exit.
    pub(crate) fn claim_exit(&self) -> bool {
        let _order = self.end_order.lock().unwrap_or_else(PoisonError::into_inner);
        self.phase
            .compare_exchange(RUNNING, EXITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// For lines that must come before the end's, if at all (the signal thread's `Received 1
    /// signal.`): `None` once the end of the process is claimed; else a guard under which the
    /// end cannot be claimed, so what is logged while it is held precedes `Graceful
    /// Interrupt...`. Hold it only for bounded work.
    pub(crate) fn before_the_end(&self) -> Option<MutexGuard<'_, ()>> {
        let order = self.end_order.lock().unwrap_or_else(PoisonError::into_inner);
        (!self.exiting()).then_some(order)
    }
}

/// What a running daemon offers its `tick`: the stop request, an interruptible sleep, the name,
/// the systemd status line and watchdog, and a way to stop the daemon from inside.
///
/// The macro passes it to a `tick` that takes a second parameter `&simple_daemon::Context`; a
/// hand-written [`Daemon`](crate::Daemon) gets it in [`tick`](crate::Daemon::tick).
///
/// For unit tests of a tick outside a running daemon, [`Context::detached`] makes one that is
/// never interrupted and sends nothing.
///
/// ```
/// use simple_daemon::Context;
/// use std::time::Duration;
///
/// let ctx = Context::detached("MyDaemon");
/// assert_eq!(ctx.name(), "MyDaemon");
/// assert!(!ctx.interrupted());
/// assert!(ctx.sleep(Duration::from_millis(1))); // slept the whole time
/// ctx.status("idle"); // sent to systemd only under a notify socket
/// ctx.keep_alive(); // pings systemd's watchdog only when it asked for one
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) shared: Arc<Shared>,
}

impl Context {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Context { shared }
    }

    /// A context that belongs to no running daemon: for unit tests of a `tick`.
    ///
    /// It is never interrupted by a signal (only by its own [`stop`](Self::stop)), its
    /// [`status`](Self::status) and [`keep_alive`](Self::keep_alive) go nowhere, and its
    /// [`sleep`](Self::sleep) sleeps the whole time unless it was stopped.
    pub fn detached(name: impl Into<String>) -> Self {
        Context::new(Arc::new(Shared::new(
            name.into(),
            Mode::Passive,
            None,
            Notifier::disabled(),
            false,
            false,
        )))
    }

    /// Whether a stop has been requested (the seed's `interrupted`).
    ///
    /// A long tick in passive mode can check it to end early.
    pub fn interrupted(&self) -> bool {
        self.shared.stop_requested()
    }

    /// Sleep for `duration`, returning early, at once, when a stop is requested.
    ///
    /// Returns `true` when it slept the whole time, `false` when a stop cut it short.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration).unwrap_or_else(far_future);
        self.shared.wait(deadline, STOP) == Wake::Deadline
    }

    /// The daemon's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The stop mode.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// Tell systemd a one-line status (`STATUS=`), shown by `systemctl status`.
    ///
    /// Nothing is sent when `$NOTIFY_SOCKET` is unset.
    pub fn status(&self, status: &str) {
        self.shared.notify.status(status);
    }

    /// Tell systemd's watchdog that the daemon is alive, from inside a long tick.
    ///
    /// The tick loop pings the watchdog (`WATCHDOG=1`) between ticks, so that a hung tick is
    /// caught; a tick that legitimately runs longer than `WatchdogSec=` calls this as it makes
    /// progress. It is cheap (no lock, no system call unless a ping is due) and shares the
    /// loop's rate limit: whoever calls, one ping goes out per half of `$WATCHDOG_USEC` at
    /// most. Nothing is sent when systemd asked for no watchdog (`$WATCHDOG_USEC` unset, or
    /// `$WATCHDOG_PID` naming another process).
    ///
    /// ```
    /// use simple_daemon::Context;
    ///
    /// let ctx = Context::detached("Importer");
    /// for batch in 0..3 {
    ///     // ... import `batch` ...
    ///     # let _ = batch;
    ///     ctx.keep_alive(); // a no-op here: a detached context has no watchdog
    /// }
    /// ```
    pub fn keep_alive(&self) {
        self.shared.keep_alive(Instant::now());
    }

    /// Stop the daemon from inside: a passive stop, whatever the [`Mode`].
    ///
    /// Logs `Stop requested by the daemon.` and tells systemd `STOPPING=1`; from then on
    /// [`interrupted`](Self::interrupted) is true and [`sleep`](Self::sleep) returns at once.
    /// The tick in progress (the caller) runs to its end, no new tick starts, `on_stop` runs,
    /// `Graceful Interrupt...` is logged and the process exits with status 0, as after a
    /// SIGTERM to a passive daemon. A stop signal that arrives afterwards is a second stop
    /// request, and escalates. Calling it again does nothing more. (`stop_timeout` bounds the
    /// stops that signals request, not this one: the tick that asked is expected to return.)
    ///
    /// ```
    /// use simple_daemon::Context;
    ///
    /// let ctx = Context::detached("Migrator");
    /// assert!(!ctx.interrupted());
    /// ctx.stop(); // e.g. the work is done, or the configuration is gone
    /// assert!(ctx.interrupted());
    /// assert!(!ctx.sleep(std::time::Duration::from_secs(60))); // returns at once
    /// ```
    pub fn stop(&self) {
        let shared = &self.shared;
        if shared.stop_requested() || shared.exiting() {
            return;
        }
        // Logged before the stop is raised, so the line precedes every line of the stop.
        crate::logging::lifecycle(log::Level::Info, format_args!("Stop requested by the daemon."));
        shared.raise(STOP);
        shared.announce_stopping();
    }
}

/// A deadline far enough away to mean "never" without overflowing `Instant`.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
