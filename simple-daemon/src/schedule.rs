//! When the next tick starts: the fixed-rate grid of [`interval`](crate::SimpleDaemon::interval),
//! shared by the sync tick loop and the tokio driver.
//!
//! Promises: tick `n` is due `n` intervals after the first, so late wake-ups do not add up; a
//! tick that ends past its successor's slot is followed at once, and the grid starts again from
//! there (no catch-up burst); without an interval, ticks run back to back. With an interval,
//! each tick's run time is logged at DEBUG in the seed's wording (`RunTimeLoop: 12 microseconds`).

use std::time::{Duration, Instant};

use crate::context::far_future;

/// The grid of tick start times.
#[derive(Debug)]
pub(crate) struct Grid {
    interval: Option<Duration>,
    /// When the tick in progress was due; `None` before the first one.
    due: Option<Instant>,
}

impl Grid {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        Grid { interval, due: None }
    }

    /// After a tick that ran from `start` to `end`: when the next one is due, or `None` for at
    /// once without a sleep (no interval). Logs the seed's `RunTimeLoop` line with an interval.
    pub(crate) fn after_tick(&mut self, start: Instant, end: Instant) -> Option<Instant> {
        let interval = self.interval?;
        log::debug!("RunTimeLoop: {}", RunTime(end - start));
        let mut next = self
            .due
            .unwrap_or(start)
            .checked_add(interval)
            .unwrap_or_else(far_future);
        if next <= end {
            next = end;
        }
        self.due = Some(next);
        Some(next)
    }
}

/// The seed's `RunTimeLoop` wording: `N microseconds`, or `N seconds, M microseconds`.
struct RunTime(Duration);

impl std::fmt::Display for RunTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        let micros = self.0.subsec_micros();
        if secs == 0 {
            write!(f, "{micros} microseconds")
        } else {
            write!(f, "{secs} seconds, {micros} microseconds")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_fixed_rate_and_re_anchors_after_an_overrun() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut g = Grid::new(Some(ms(100)));
        assert_eq!(g.after_tick(t0, t0 + ms(10)), Some(t0 + ms(100)));
        // A late wake-up (started at 105) does not shift the grid.
        assert_eq!(g.after_tick(t0 + ms(105), t0 + ms(110)), Some(t0 + ms(200)));
        // An overrun ending at 350: the next tick at once, the grid from there.
        assert_eq!(g.after_tick(t0 + ms(200), t0 + ms(350)), Some(t0 + ms(350)));
        assert_eq!(g.after_tick(t0 + ms(350), t0 + ms(360)), Some(t0 + ms(450)));
        assert_eq!(Grid::new(None).after_tick(t0, t0), None);
    }

    #[test]
    fn run_time_in_the_seeds_wording() {
        assert_eq!(RunTime(Duration::from_micros(12)).to_string(), "12 microseconds");
        assert_eq!(
            RunTime(Duration::from_micros(2_000_005)).to_string(),
            "2 seconds, 5 microseconds"
        );
    }
}
