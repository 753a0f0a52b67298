//! The interval grid, `missed`, the backoff and the jitter, on instants made by hand.

use std::time::{Duration, Instant};

use super::*;

const S: Duration = Duration::from_secs(1);

#[test]
fn on_time_ticks_keep_the_grid() {
    let t0 = Instant::now();
    for missed in [Missed::Delay, Missed::Skip, Missed::Burst] {
        // A tick that ends before its successor's slot: the slot is the grid's.
        assert_eq!(next_slot(t0, S, t0 + S / 2, missed), t0 + S);
        assert_eq!(next_slot(t0 + 7 * S, S, t0 + 7 * S + S / 10, missed), t0 + 8 * S);
    }
}

#[test]
fn an_overrun_is_handled_as_missed_says() {
    let t0 = Instant::now();
    let end = t0 + 2 * S + S / 2; // the tick of slot 0 ran until 2.5 s
    assert_eq!(
        next_slot(t0, S, end, Missed::Delay),
        end,
        "delay: at once, re-anchored"
    );
    assert_eq!(
        next_slot(t0, S, end, Missed::Skip),
        t0 + 3 * S,
        "skip: the next grid slot"
    );
    // burst: slot 1 s (past, so at once), then slot 2 s (past too), then 3 s.
    let b1 = next_slot(t0, S, end, Missed::Burst);
    assert_eq!(b1, t0 + S);
    let b2 = next_slot(b1, S, end, Missed::Burst);
    assert_eq!(b2, t0 + 2 * S);
    assert_eq!(next_slot(b2, S, end + S / 10, Missed::Burst), t0 + 3 * S);
    // An end exactly on a slot: skip goes to the slot after it.
    assert_eq!(next_slot(t0, S, t0 + 2 * S, Missed::Skip), t0 + 3 * S);
}

#[test]
fn backoff_doubles_up_to_the_limit() {
    let max = Duration::from_secs(300);
    let seq: Vec<u64> = (1..=12).map(|n| backoff(10 * S, n, max).as_secs()).collect();
    assert_eq!(seq, [10, 20, 40, 80, 160, 300, 300, 300, 300, 300, 300, 300]);
    assert_eq!(backoff(S, 200, max), max, "no overflow after many failures");
    assert_eq!(
        backoff(10 * S, 1, 2 * S),
        2 * S,
        "a limit below the base caps the first too"
    );
}

#[test]
fn jitter_stays_in_its_range_and_spreads() {
    let mut rng = Rng::new();
    let n = 10_000u64;
    let draws: Vec<u64> = (0..2000).map(|_| rng.below(n)).collect();
    assert!(draws.iter().all(|&d| d < n));
    let low = draws.iter().filter(|&&d| d < n / 2).count();
    assert!(
        (800..1200).contains(&low),
        "half of the draws below the middle, got {low}"
    );
    assert_ne!(Rng::new().next(), Rng::new().next(), "seeded per instance");
}

#[test]
fn a_wall_wait_looks_again_within_a_step() {
    let now = Instant::now();
    let far = Wait::Wall(Utc::now() + chrono::Duration::hours(1));
    let at = far.pending(now).expect("an hour ahead is pending");
    assert!(at <= now + WALL_STEP);
    let past = Wait::Wall(Utc::now() - chrono::Duration::seconds(1));
    assert_eq!(past.pending(now), None);
    assert_eq!(Wait::Now.pending(now), None);
    assert_eq!(Wait::At(now + S).pending(now), Some(now + S));
}

#[test]
fn run_time_in_the_seeds_wording() {
    assert_eq!(RunTime(Duration::from_micros(12)).to_string(), "12 microseconds");
    assert_eq!(
        RunTime(Duration::from_micros(2_000_005)).to_string(),
        "2 seconds, 5 microseconds"
    );
}
