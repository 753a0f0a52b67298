//! The calendar against an injected clock: each case asks for the start after a given instant.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
        .with_timezone(&Utc)
}

/// The `n` start times after `from`, each in the zone's own reading (RFC 3339).
fn runs(expr: &str, zone: Tz, from: &str, n: usize) -> Vec<String> {
    let cal = Calendar::new(expr, Some(zone));
    let mut t = utc(from);
    (0..n)
        .map(|_| {
            t = cal.next_after(t);
            t.with_timezone(&zone).to_rfc3339()
        })
        .collect()
}

#[test]
fn berlin_spring_forward_runs_the_skipped_time_at_the_jump() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    let r = runs(
        "30 2 * * *",
        chrono_tz::Europe::Berlin,
        "2026-03-27T12:00:00+01:00",
        3,
    );
    assert_eq!(
        r,
        [
            "2026-03-28T02:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00"
        ]
    );
}

#[test]
fn berlin_fall_back_runs_the_repeated_time_once() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice, the run is at the first.
    let r = runs(
        "30 2 * * *",
        chrono_tz::Europe::Berlin,
        "2026-10-24T12:00:00+02:00",
        2,
    );
    assert_eq!(r, ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]);
    // Asked during the repeated hour, after the first 02:30: not again that day.
    let r = runs(
        "30 2 * * *",
        chrono_tz::Europe::Berlin,
        "2026-10-25T02:10:00+01:00",
        1,
    );
    assert_eq!(r, ["2026-10-26T02:30:00+01:00"]);
}

#[test]
fn berlin_hourly_across_both_changes() {
    let r = runs(
        "0 * * * *",
        chrono_tz::Europe::Berlin,
        "2026-03-29T00:30:00+01:00",
        3,
    );
    assert_eq!(
        r,
        [
            "2026-03-29T01:00:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T04:00:00+02:00"
        ],
        "02:00 does not exist: it is 03:00, one run"
    );
    let r = runs(
        "0 * * * *",
        chrono_tz::Europe::Berlin,
        "2026-10-25T01:30:00+02:00",
        3,
    );
    assert_eq!(
        r,
        [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T03:00:00+01:00",
            "2026-10-25T04:00:00+01:00"
        ],
        "02:00 happens twice: the first only"
    );
}

#[test]
fn new_york_both_changes() {
    // 2026-03-08 02:00 EST becomes 03:00 EDT; 2026-11-01 02:00 EDT becomes 01:00 EST.
    let r = runs(
        "30 2 * * *",
        chrono_tz::America::New_York,
        "2026-03-07T12:00:00-05:00",
        2,
    );
    assert_eq!(r, ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]);
    let r = runs(
        "30 1 * * *",
        chrono_tz::America::New_York,
        "2026-10-31T12:00:00-04:00",
        2,
    );
    assert_eq!(r, ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]);
}

#[test]
fn lord_howe_shifts_by_half_an_hour() {
    // 2026-10-04 02:00 +10:30 becomes 02:30 +11:00: 02:15 does not exist, it runs at 02:30.
    let r = runs(
        "15 2 * * *",
        chrono_tz::Australia::Lord_Howe,
        "2026-10-03T12:00:00+10:30",
        2,
    );
    assert_eq!(r, ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]);
    // 2026-04-05 02:00 +11:00 becomes 01:30 +10:30: 01:45 happens twice, the first only.
    let r = runs(
        "45 1 * * *",
        chrono_tz::Australia::Lord_Howe,
        "2026-04-04T12:00:00+11:00",
        2,
    );
    assert_eq!(r, ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"]);
}

#[test]
fn leap_days() {
    let r = runs("0 12 29 2 *", chrono_tz::UTC, "2026-03-01T00:00:00Z", 2);
    assert_eq!(r, ["2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00"]);
    // 2100 is not a leap year: from 2096's on to 2104's.
    let r = runs("0 12 29 2 *", chrono_tz::UTC, "2096-03-01T00:00:00Z", 1);
    assert_eq!(r, ["2104-02-29T12:00:00+00:00"]);
    let r = runs("0 0 28 2 *", chrono_tz::UTC, "2028-02-28T00:00:00Z", 1);
    assert_eq!(
        r,
        ["2029-02-28T00:00:00+00:00"],
        "strictly after: the start itself is not repeated"
    );
}

#[test]
fn seconds_weekdays_and_shorthands() {
    let r = runs("*/20 * * * * *", chrono_tz::UTC, "2026-12-31T23:59:41Z", 3);
    assert_eq!(
        r,
        [
            "2027-01-01T00:00:00+00:00",
            "2027-01-01T00:00:20+00:00",
            "2027-01-01T00:00:40+00:00"
        ]
    );
    // 2026-12-06 is a Sunday.
    let r = runs("0 9 * * MON-FRI", chrono_tz::UTC, "2026-12-05T10:00:00Z", 2);
    assert_eq!(r, ["2026-12-07T09:00:00+00:00", "2026-12-08T09:00:00+00:00"]);
    let r = runs("@monthly", chrono_tz::Europe::Berlin, "2026-12-02T00:00:00Z", 1);
    assert_eq!(r, ["2027-01-01T00:00:00+01:00"]);
    let r = runs("@weekly", chrono_tz::UTC, "2026-12-02T00:00:00Z", 1);
    assert_eq!(r, ["2026-12-06T00:00:00+00:00"]);
}

#[test]
fn the_next_run_line_names_the_zone() {
    let cal = Calendar::new("0 3 * * *", Some(chrono_tz::Europe::Berlin));
    let next = cal.next_after(utc("2026-12-01T21:00:00Z"));
    assert_eq!(cal.describe(next), "2026-12-02 03:00:00 +01:00 (Europe/Berlin)");
}
