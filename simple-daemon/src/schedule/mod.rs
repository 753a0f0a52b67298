//! When the next tick starts: the interval grid, the calendar (`schedule`, `timezone`, feature
//! `schedule`), [`Missed`], `jitter` and the backoff of [`OnError::Continue`].
//!
//! Both drivers ask this module and nothing else: [`Schedule::first`] before the first tick,
//! [`Schedule::succeeded`] or [`Schedule::failed`] after each one. Each answer is a [`Wait`]: a
//! monotonic instant for the interval grid and backoffs, a wall-clock instant for the calendar.
//! A driver sleeps until [`Wait::pending`] says the start is due, waking at the instant it returns;
//! for a wall-clock start that instant is at most [`WALL_STEP`] ahead, so a step of the clock
//! (NTP, a suspend and resume) is noticed within that step: the start is neither lost nor doubled.
//!
//! Promises:
//! - interval grid: tick `n` is due `n` intervals after the first (late wake-ups do not add up);
//!   an overrun is handled as [`Missed`] says;
//! - jitter: each start is its slot (on the grid, on the calendar, or after a backoff) plus a
//!   fresh random delay in `[0, jitter)`; the slots themselves do not move, so jitter never
//!   accumulates;
//! - backoff: the `n`th consecutive error waits `base * 2^(n-1)`, at most `max_backoff`, from the
//!   failed tick's end (`base` is the interval, or 1 s without one); a success resets it and the
//!   grid goes on from the successful tick's slot; `max_failures` consecutive errors end the run.

use std::fmt::{self, Display};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};

use crate::config::Config;
use crate::context::far_future;

#[cfg(feature = "schedule")]
mod calendar;
#[cfg(not(feature = "schedule"))]
mod calendar {
    //! Without the feature `schedule`, there is no calendar: [`from_builder`] never makes one.

    use chrono::{DateTime, Utc};

    /// A cron schedule in a time zone: never made without the feature `schedule`.
    #[derive(Debug, Clone)]
    #[allow(dead_code)] // never constructed without the feature
    pub(crate) struct Calendar(());

    impl Calendar {
        pub(crate) fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
            t + chrono::Duration::days(36_500)
        }
        pub(crate) fn describe(&self, t: DateTime<Utc>) -> String {
            t.to_rfc3339()
        }
    }

    /// The builder's check: nothing to check without the feature.
    pub(crate) fn from_builder(
        _schedule: Option<&str>,
        _timezone: Option<&str>,
        _interval: Option<std::time::Duration>,
    ) -> Result<Option<Calendar>, crate::Error> {
        Ok(None)
    }
}

pub(crate) use calendar::{from_builder, Calendar};

/// How often a driver sleeping for a wall-clock start looks at the wall clock again.
pub(crate) const WALL_STEP: Duration = Duration::from_secs(1);

/// The backoff's base without an interval (ticks back to back, or a calendar).
const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// Default [`max_backoff`](crate::SimpleDaemon::max_backoff): 5 minutes.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What happens when a tick overruns its slot (tokio's `MissedTickBehavior` words).
///
/// With `interval = "1s"` and a tick that runs from 0 s to 2.5 s:
///
/// | policy | next starts |
/// |---|---|
/// | [`Delay`](Missed::Delay) | 2.5 s (at once), then 3.5 s, 4.5 s: the grid starts again from there |
/// | [`Skip`](Missed::Skip) | 3 s: the next slot of the original grid, the missed ones are skipped |
/// | [`Burst`](Missed::Burst) | 2.5 s and again at once (the slots of 1 s and 2 s), then 3 s: catch up back to back |
///
/// With a calendar (`schedule`), a run that ends after its successor's start time is followed at
/// once by one run ([`Delay`](Missed::Delay)), by the next start time still to come
/// ([`Skip`](Missed::Skip)), or by one run per start time missed ([`Burst`](Missed::Burst)).
/// A run that itself started late (the clock stepped forward, a suspend) counts as the one late
/// run for `Delay`.
///
/// ```
/// use simple_daemon::{Missed, SimpleDaemon};
/// use std::time::Duration;
///
/// assert_eq!(Missed::default(), Missed::Delay);
/// let config = SimpleDaemon::new("Poller")
///     .interval(Duration::from_secs(1))
///     .missed(Missed::Skip)
///     .config()?;
/// assert_eq!(config.missed(), Missed::Skip);
/// # Ok::<(), simple_daemon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Missed {
    /// The next tick starts at once and the grid starts again from there (the default).
    #[default]
    Delay,
    /// The next tick starts at the next slot of the original grid.
    Skip,
    /// Every missed slot gets its tick, back to back, until the schedule is caught up.
    Burst,
}

impl Display for Missed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missed::Delay => "delay",
            Missed::Skip => "skip",
            Missed::Burst => "burst",
        })
    }
}

/// What a tick's `Err` does.
///
/// ```
/// use simple_daemon::{OnError, SimpleDaemon};
/// use std::time::Duration;
///
/// assert_eq!(OnError::default(), OnError::Exit);
/// let config = SimpleDaemon::new("Poller")
///     .interval(Duration::from_secs(10))
///     .on_error(OnError::Continue)
///     .max_backoff(Duration::from_secs(60))
///     .max_failures(5)
///     .config()?;
/// assert_eq!(config.on_error(), OnError::Continue);
/// assert_eq!(config.max_failures(), Some(5));
/// # Ok::<(), simple_daemon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnError {
    /// The error is logged at ERROR and the daemon ends with exit status 1 (the default).
    #[default]
    Exit,
    /// The error is logged at ERROR with the count of consecutive errors and the next attempt's
    /// time, and the next tick runs after an exponential backoff: the interval (or 1 s), doubled
    /// at each consecutive error up to `max_backoff`, reset by a success. After `max_failures`
    /// consecutive errors the daemon ends with exit status 1.
    Continue,
}

impl Display for OnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnError::Exit => "exit",
            OnError::Continue => "continue",
        })
    }
}

/// When a start is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// At once.
    Now,
    /// At this monotonic instant (the interval grid, a backoff).
    At(Instant),
    /// When the wall clock reads this (the calendar).
    Wall(DateTime<Utc>),
}

impl Wait {
    /// `None` when the start is due; else the instant to wake at and look again (for a
    /// wall-clock start, at most [`WALL_STEP`] from `now`).
    pub(crate) fn pending(&self, now: Instant) -> Option<Instant> {
        match *self {
            Wait::Now => None,
            Wait::At(t) => (now < t).then_some(t),
            Wait::Wall(t) => {
                let left = (t - Utc::now()).to_std().ok().filter(|d| !d.is_zero())?;
                Some(now + left.min(WALL_STEP))
            }
        }
    }

    /// How long from now, for a log line.
    fn left(&self) -> Duration {
        match *self {
            Wait::Now => Duration::ZERO,
            Wait::At(t) => t.saturating_duration_since(Instant::now()),
            Wait::Wall(t) => (t - Utc::now()).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// What the driver does after a failed tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Log nothing more and wait (the ERROR line with the count and the next attempt is logged).
    Retry(Wait),
    /// End the run with exit status 1: log the error with [`fatal`](crate::lifecycle::fatal)
    /// and this note (empty for `on_error = "exit"`).
    Exit(String),
}

/// What the ticks run on.
#[derive(Debug, Clone)]
enum Plan {
    BackToBack,
    Every(Duration),
    Calendar(Box<Calendar>),
}

/// The schedule of one run: the plan, the policies, and where the run is on them.
#[derive(Debug)]
pub(crate) struct Schedule {
    plan: Plan,
    missed: Missed,
    jitter: Option<Duration>,
    on_error: OnError,
    max_backoff: Duration,
    max_failures: Option<u32>,
    /// Consecutive failed ticks.
    failures: u32,
    /// The grid slot of the tick in progress (interval plan).
    due: Option<Instant>,
    /// The calendar start time of the run in progress (calendar plan).
    due_wall: Option<DateTime<Utc>>,
    /// While `missed = "burst"` catches up (calendar plan): the monotonic start of the run that
    /// overran and its start time. Start times up to that start time plus the monotonic time
    /// since are owed; those a wall-clock step passed are not.
    overran: Option<(Instant, DateTime<Utc>)>,
    rng: Rng,
}

impl Schedule {
    /// The schedule `config` asks for.
    pub(crate) fn new(config: &Config) -> Schedule {
        let plan = match (&config.calendar, config.interval) {
            (Some(c), _) => Plan::Calendar(Box::new(c.clone())),
            (None, Some(i)) => Plan::Every(i),
            (None, None) => Plan::BackToBack,
        };
        Schedule {
            plan,
            missed: config.missed,
            jitter: config.jitter,
            on_error: config.on_error,
            max_backoff: config.max_backoff,
            max_failures: config.max_failures,
            failures: 0,
            due: None,
            due_wall: None,
            overran: None,
            rng: Rng::new(),
        }
    }

    /// When the first tick starts; with a calendar, logs `Next run: ...` (a start line).
    pub(crate) fn first(&mut self) -> Wait {
        let now = Instant::now();
        match &self.plan {
            Plan::BackToBack => self.jittered_at(now),
            Plan::Every(_) => {
                self.due = Some(now);
                self.jittered_at(now)
            }
            Plan::Calendar(c) => {
                let next = c.next_after(Utc::now());
                self.calendar_wait(next)
            }
        }
    }

    /// When the next tick starts after one that began at `start` and ended at `end` with `Ok`;
    /// resets the backoff. Unless ticks run back to back, logs the run time at DEBUG in the
    /// seed's wording (`RunTimeLoop: 12 microseconds`); with a calendar, logs `Next run: ...`.
    pub(crate) fn succeeded(&mut self, start: Instant, end: Instant) -> Wait {
        self.failures = 0;
        if !matches!(self.plan, Plan::BackToBack) {
            log::debug!("RunTimeLoop: {}", RunTime(end - start));
        }
        match &self.plan {
            Plan::BackToBack => self.jittered_at(end),
            Plan::Every(interval) => {
                let slot = next_slot(self.due.unwrap_or(start), *interval, end, self.missed);
                self.due = Some(slot);
                self.jittered_at(slot)
            }
            Plan::Calendar(c) => {
                let (start_wall, now) = (wall_of(start), Utc::now());
                let due = self.due_wall.unwrap_or(start_wall);
                let next = c.next_after(due);
                let (since, overran_at) = self.overran.take().unwrap_or((start, due));
                // How far the wall clock would be, had it moved only as time passed.
                let owed_until = overran_at + chrono::Duration::from_std(end - since).unwrap_or_default();
                let next = if next > now {
                    next
                } else {
                    match self.missed {
                        // Only the start times the runs overran are caught up, back to back.
                        Missed::Burst if next <= owed_until => {
                            self.overran = Some((since, overran_at));
                            next
                        }
                        // The run that just ended started late itself: it was the one late run.
                        Missed::Delay | Missed::Burst if next > start_wall => {
                            self.due_wall = Some(now);
                            log::info!("Next run: now (a start time passed during the last run)");
                            return Wait::Now;
                        }
                        Missed::Delay | Missed::Skip | Missed::Burst => c.next_after(now),
                    }
                };
                self.calendar_wait(next)
            }
        }
    }

    /// After a tick that ended at `end` with `error`: logs the error at ERROR with the count of
    /// consecutive errors and the next attempt's time and returns when to retry, or says to end
    /// the run (`on_error = "exit"`, or `max_failures` reached).
    pub(crate) fn failed(&mut self, end: Instant, error: &dyn Display) -> Failure {
        if self.on_error == OnError::Exit {
            return Failure::Exit(String::new());
        }
        self.failures = self.failures.saturating_add(1);
        self.overran = None;
        let n = self.failures;
        if self.max_failures.is_some_and(|max| n >= max) {
            return Failure::Exit(format!(" ({n} in a row, max_failures = {n})"));
        }
        let base = match self.plan {
            Plan::Every(i) => i,
            Plan::BackToBack | Plan::Calendar(_) => BACKOFF_BASE,
        };
        let delay = backoff(base, n, self.max_backoff);
        let slot = end.checked_add(delay).unwrap_or_else(far_future);
        if let Plan::Every(_) = self.plan {
            // The grid goes on from the retry once it succeeds.
            self.due = Some(slot);
        }
        let j = self.jitter();
        let wait = Wait::At(slot.checked_add(j).unwrap_or_else(far_future));
        let at = Local::now() + wait.left();
        log::error!(
            "Tick failed ({n} in a row): {error}; next attempt in {} at {}",
            Secs(delay.saturating_add(j)),
            at.format("%Y-%m-%d %H:%M:%S,%3f")
        );
        Failure::Retry(wait)
    }

    /// `slot` plus a fresh jitter.
    fn jittered_at(&mut self, slot: Instant) -> Wait {
        let j = self.jitter();
        Wait::At(slot.checked_add(j).unwrap_or_else(far_future))
    }

    /// Wait for the calendar start time `next` (plus jitter), logging `Next run: ...`.
    fn calendar_wait(&mut self, next: DateTime<Utc>) -> Wait {
        self.due_wall = Some(next);
        let j = self.jitter();
        let Plan::Calendar(c) = &self.plan else {
            return Wait::Wall(next);
        };
        if j.is_zero() {
            log::info!("Next run: {}", c.describe(next));
        } else {
            log::info!("Next run: {}, after a jitter of {}", c.describe(next), Secs(j));
        }
        Wait::Wall(next + chrono::Duration::from_std(j).unwrap_or(chrono::Duration::zero()))
    }

    /// A random delay in `[0, jitter)`, or zero without jitter.
    fn jitter(&mut self) -> Duration {
        match self.jitter {
            Some(j) if !j.is_zero() => {
                let nanos = u64::try_from(j.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(self.rng.below(nanos))
            }
            _ => Duration::ZERO,
        }
    }
}

/// What the drivers' schedule bookkeeping costs per tick, on average over `ticks` successful
/// ticks of `config`'s plan: [`Schedule::succeeded`] (for a calendar, computing the next start
/// time) and one [`Wait::pending`], as a driver calls them between two ticks. The log lines they
/// write are not part of it unless a logger is installed. Used by `bench/`; not public API.
#[doc(hidden)]
pub fn bookkeeping_cost(config: &Config, ticks: u32) -> Duration {
    let mut schedule = Schedule::new(config);
    let _ = schedule.first();
    let started = Instant::now();
    for _ in 0..ticks {
        let now = Instant::now();
        let wait = schedule.succeeded(now, now);
        std::hint::black_box(wait.pending(now));
    }
    started.elapsed() / ticks.max(1)
}

/// The slot after `due` on the grid of `interval`, for a tick that ended at `end`.
fn next_slot(due: Instant, interval: Duration, end: Instant, missed: Missed) -> Instant {
    let Some(next) = due.checked_add(interval) else {
        return far_future();
    };
    if next > end {
        return next;
    }
    match missed {
        Missed::Delay => end,
        Missed::Burst => next,
        Missed::Skip => {
            let behind = (end - due).as_nanos() / interval.as_nanos().max(1);
            let k = u32::try_from(behind + 1).unwrap_or(u32::MAX);
            interval
                .checked_mul(k)
                .and_then(|d| due.checked_add(d))
                .unwrap_or_else(far_future)
        }
    }
}

/// `base * 2^(n-1)`, at most `max` (and at least `base` when `max` is smaller, never zero).
fn backoff(base: Duration, n: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
    base.checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(max.max(Duration::from_millis(1)))
}

/// The wall-clock reading at a monotonic instant in the past (or now).
fn wall_of(t: Instant) -> DateTime<Utc> {
    let ago = Instant::now().saturating_duration_since(t);
    Utc::now() - chrono::Duration::from_std(ago).unwrap_or(chrono::Duration::zero())
}

/// The seed's `RunTimeLoop` wording: `N microseconds`, or `N seconds, M microseconds`.
struct RunTime(Duration);

impl Display for RunTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let micros = self.0.subsec_micros();
        if secs == 0 {
            write!(f, "{micros} microseconds")
        } else {
            write!(f, "{secs} seconds, {micros} microseconds")
        }
    }
}

/// A duration as seconds with milliseconds, `2s` or `1.250s`.
struct Secs(Duration);

impl Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.subsec_millis();
        if ms == 0 {
            write!(f, "{}s", self.0.as_secs())
        } else {
            write!(f, "{}.{ms:03}s", self.0.as_secs())
        }
    }
}

/// A small PRNG (splitmix64) seeded per process from the standard library's random hasher
/// keys: jitter needs spread across a fleet, not cryptographic strength.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        Rng(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (Lemire's multiply-shift; the bias is below 2^-64 * n).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests;
