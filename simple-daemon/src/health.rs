//! Health: whether the daemon is live and ready, `tick_timeout`, and the hooks the drivers call
//! around each tick.
//!
//! Promises:
//! - a tick that runs past `tick_timeout` gets one WARN line (from a watcher thread, within a
//!   tenth of the timeout, at most 100 ms, after it passed), and until it ends the daemon is not
//!   live: [`Health::live`] is false (`/healthz` answers 503) and no watchdog ping goes out;
//!   when it ends, one INFO line says so and the daemon is live again;
//! - ready ([`Health::ready`]) from the moment the state was built until a stop is requested;
//! - with neither `tick_timeout` nor an [`Observer`] (no metrics), the hooks around a tick read
//!   one atomic flag and nothing else: no clock, no lock; with them, they read no clock either
//!   (the drivers pass the instants they take anyway).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// What the metrics (feature `admin`) are told about each tick and reload.
pub(crate) trait Observer: Send + Sync + 'static {
    /// A tick ended, `ok` or not, after `took`, at `end`.
    fn tick(&self, ok: bool, took: Duration, end: Instant);
    /// A reload (SIGHUP) was done.
    fn reloaded(&self);
}

/// The health of a running daemon, shared by the drivers, the watcher and the admin listener.
pub(crate) struct Health {
    /// The monotonic origin of the time stamps below, and the wall time at that instant.
    epoch: Instant,
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    wall_epoch: SystemTime,
    tick_timeout: Option<Duration>,
    /// Whether the hooks around a tick do anything (a timeout or an observer).
    tracked: AtomicBool,
    /// When the tick in progress began, in nanoseconds since `epoch`, plus one; 0 when none.
    started: AtomicU64,
    /// Whether the state was built (`new` returned).
    ready: AtomicBool,
    observer: OnceLock<Box<dyn Observer>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("tick_timeout", &self.tick_timeout)
            .field("started", &self.started)
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl Health {
    pub(crate) fn new(tick_timeout: Option<Duration>) -> Self {
        Health {
            epoch: Instant::now(),
            wall_epoch: SystemTime::now(),
            tick_timeout,
            tracked: AtomicBool::new(tick_timeout.is_some()),
            started: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            observer: OnceLock::new(),
        }
    }

    /// Have `observer` told of every tick and reload from now on (once; later calls do nothing).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    pub(crate) fn observe(&self, observer: Box<dyn Observer>) {
        if self.observer.set(observer).is_ok() {
            self.tracked.store(true, Ordering::Release);
        }
    }

    /// A tick begins at `start` (the driver's own clock reading, so the hooks read none).
    #[inline]
    pub(crate) fn begin(&self, start: Instant) {
        if self.tracked.load(Ordering::Relaxed) {
            self.started.store(self.nanos(start) + 1, Ordering::Release);
        }
    }

    /// The tick that began at `start` ended at `end`, `ok` or not.
    #[inline]
    pub(crate) fn end(&self, start: Instant, end: Instant, ok: bool) {
        if !self.tracked.load(Ordering::Relaxed) {
            return;
        }
        self.started.store(0, Ordering::Release);
        let took = end.saturating_duration_since(start);
        if let Some(t) = self.tick_timeout {
            if took > t {
                log::info!("Tick ended after {took:.3?}, past tick_timeout of {t:?}: healthy again");
            }
        }
        if let Some(o) = self.observer.get() {
            o.tick(ok, took, end);
        }
    }

    /// A reload was done.
    pub(crate) fn reloaded(&self) {
        if let Some(o) = self.observer.get() {
            o.reloaded();
        }
    }

    /// The state was built: the daemon is ready until a stop is requested.
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Whether the state was built (the caller adds "and no stop was requested").
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    pub(crate) fn built(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Whether a tick is in progress (known only when ticks are tracked).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    pub(crate) fn in_progress(&self) -> bool {
        self.started.load(Ordering::Acquire) != 0
    }

    /// Whether the daemon is live: no tick has run past `tick_timeout`.
    #[inline]
    pub(crate) fn live(&self, now: Instant) -> bool {
        self.overdue(now).is_none()
    }

    /// How long the tick in progress has run, when that is past `tick_timeout`.
    fn overdue(&self, now: Instant) -> Option<Duration> {
        let t = self.tick_timeout?;
        let started = self.started.load(Ordering::Acquire);
        if started == 0 {
            return None;
        }
        let ran = Duration::from_nanos(self.nanos(now).saturating_sub(started - 1));
        (ran > t).then_some(ran)
    }

    /// `at` as a stamp: nanoseconds since this health's origin, what an atomic can hold.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    #[inline]
    pub(crate) fn stamp(&self, at: Instant) -> u64 {
        self.nanos(at)
    }

    /// The wall time of a [`stamp`](Self::stamp), in seconds since the Unix epoch.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // read by the admin listener
    pub(crate) fn unix_seconds_of(&self, stamp: u64) -> f64 {
        let wall = self.wall_epoch + Duration::from_nanos(stamp);
        wall.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
    }
}

/// Start the thread that logs the WARN line of a tick past `tick_timeout`, when one is set.
/// It ends when `over()` turns true.
pub(crate) fn watch(health: Arc<Health>, over: impl Fn() -> bool + Send + 'static) -> std::io::Result<()> {
    let Some(timeout) = health.tick_timeout else {
        return Ok(());
    };
    let poll = (timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
    thread::Builder::new()
        .name("simple-daemon-tick-timeout".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut warned_for = 0;
            while !over() {
                let started = health.started.load(Ordering::Acquire);
                if started != 0 && started != warned_for {
                    if let Some(ran) = health.overdue(Instant::now()) {
                        warned_for = started;
                        log::warn!(
                            "Tick running for {ran:.3?}, past tick_timeout of {timeout:?}: reporting unhealthy until it ends"
                        );
                    }
                }
                thread::sleep(poll);
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untracked_hooks_do_nothing() {
        let h = Health::new(None);
        h.begin(Instant::now());
        assert!(!h.in_progress());
        assert!(h.live(Instant::now()));
    }

    #[test]
    fn overdue_tick_is_not_live_until_it_ends() {
        let h = Health::new(Some(Duration::from_millis(10)));
        let begun = Instant::now();
        h.begin(begun);
        assert!(h.in_progress());
        assert!(h.live(Instant::now()));
        assert!(!h.live(Instant::now() + Duration::from_millis(20)));
        h.end(begun, Instant::now(), true);
        assert!(h.live(Instant::now() + Duration::from_millis(20)));
    }
}
