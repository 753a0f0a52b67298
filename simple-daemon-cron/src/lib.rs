//! The cron expressions of `simple-daemon`'s `schedule` key, parsed once by the same code in
//! the `#[daemon]` attribute (at compile time, so a bad field is a compile error) and in the
//! runtime's builder.
//!
//! Five fields (`minute hour day-of-month month day-of-week`) or six with seconds first; each a
//! list of `*`, `N`, `N-M`, with an optional step `/S` (`*/15`, `1-10/2`, `5/10`); months and
//! week days by number or by their English three-letter names (`JAN`, `MON`; 0 and 7 are both
//! Sunday); and the shorthands `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`,
//! `@yearly` (`@annually`). When both day fields are restricted, a day matches either (as in
//! Vixie cron). The error names the field: `hour 25 is out of range 0-23`.
//!
//! ```
//! use simple_daemon_cron::Cron;
//!
//! let c = Cron::parse("30 2 * * *")?;
//! assert!(c.hour(2) && c.minute(30) && c.second(0) && !c.hour(3));
//! assert_eq!(Cron::parse("0 25 * * *").unwrap_err().to_string(), "hour 25 is out of range 0-23");
//! # Ok::<(), simple_daemon_cron::Error>(())
//! ```

#![warn(missing_docs)]

use std::fmt;

/// A parsed cron expression: the set of values each field matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month field is `*` (then only the day of week restricts days).
    any_day: bool,
    /// Whether the day-of-week field is `*`.
    any_weekday: bool,
}

/// Why an expression is not a cron schedule; its `Display` names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// One field's name, range and value names.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// The days in each month at most (February in a leap year).
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Cron {
    /// Parse an expression.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the bad field and why: a value out of range, an unknown name, a
    /// wrong number of fields, a day that never comes (`30 2 30 2 *`).
    pub fn parse(expr: &str) -> Result<Cron, Error> {
        let expr = expr.trim();
        let expanded = match expr.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(Error(format!(
                    "unknown shorthand {expr:?}: expected @hourly, @daily, @weekly, @monthly or @yearly"
                )))
            }
            _ => expr,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (sec, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(Error(format!(
                    "a cron schedule has 5 fields (minute hour day-of-month month day-of-week) or 6 \
                     with seconds first; {expr:?} has {n}"
                )))
            }
        };
        let weekdays = set(rest[4], &WEEKDAY)?;
        // 7 is Sunday too.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let cron = Cron {
            seconds: set(sec, &SECOND)?,
            minutes: set(rest[0], &MINUTE)?,
            hours: set(rest[1], &HOUR)?,
            days: set(rest[2], &DAY)?,
            months: set(rest[3], &MONTH)?,
            weekdays,
            any_day: rest[2] == "*" || rest[2] == "?",
            any_weekday: rest[4] == "*" || rest[4] == "?",
        };
        if cron.any_weekday && !cron.any_day {
            let possible = (1..=12u32)
                .filter(|m| cron.months & (1 << m) != 0)
                .any(|m| (1..=MONTH_DAYS[m as usize - 1]).any(|d| cron.days & (1 << d) != 0));
            if !possible {
                return Err(Error(format!(
                    "day of month {:?} never comes in month {:?}: the schedule would never run",
                    rest[2], rest[3]
                )));
            }
        }
        Ok(cron)
    }

    /// Whether the second `s` (0-59) matches.
    pub fn second(&self, s: u32) -> bool {
        bit(self.seconds, s)
    }
    /// Whether the minute `m` (0-59) matches.
    pub fn minute(&self, m: u32) -> bool {
        bit(self.minutes, m)
    }
    /// Whether the hour `h` (0-23) matches.
    pub fn hour(&self, h: u32) -> bool {
        bit(self.hours, h)
    }
    /// Whether the month `m` (1-12) matches.
    pub fn month(&self, m: u32) -> bool {
        bit(self.months, m)
    }
    /// Whether a day matches: `day` of the month (1-31) that is `weekday` (0 = Sunday ... 6).
    /// When both day fields are restricted, either may match.
    pub fn day(&self, day: u32, weekday: u32) -> bool {
        let (d, w) = (bit(self.days, day), bit(self.weekdays, weekday));
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (false, true) => d,
            (true, false) => w,
            (false, false) => d || w,
        }
    }

    /// The first matching second at or after `s`, if any in this minute.
    pub fn next_second(&self, s: u32) -> Option<u32> {
        next_bit(self.seconds, s, 59)
    }
    /// The first matching minute at or after `m`, if any in this hour.
    pub fn next_minute(&self, m: u32) -> Option<u32> {
        next_bit(self.minutes, m, 59)
    }
    /// The first matching hour at or after `h`, if any in this day.
    pub fn next_hour(&self, h: u32) -> Option<u32> {
        next_bit(self.hours, h, 23)
    }
}

fn bit(set: u64, n: u32) -> bool {
    n < 64 && set & (1 << n) != 0
}

fn next_bit(set: u64, from: u32, max: u32) -> Option<u32> {
    if from > max {
        return None;
    }
    let rest = set >> from;
    (rest != 0)
        .then(|| from + rest.trailing_zeros())
        .filter(|&n| n <= max)
}

/// The set of values a field's text matches.
fn set(text: &str, f: &Field) -> Result<u64, Error> {
    let mut all = 0u64;
    for part in text.split(',') {
        all |= part_set(part, text, f)?;
    }
    Ok(all)
}

fn part_set(part: &str, text: &str, f: &Field) -> Result<u64, Error> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => {
            let step = s.parse::<u32>().map_err(|_| {
                Error(format!(
                    "{} {text:?}: the step after `/` must be a number, not {s:?}",
                    f.name
                ))
            })?;
            if step == 0 || step > f.max {
                return Err(Error(format!(
                    "{} step {step} is out of range 1-{}",
                    f.name, f.max
                )));
            }
            (r, step)
        }
        None => (part, 1),
    };
    let (lo, hi) = if range == "*" || range == "?" {
        (f.min, f.max)
    } else if let Some((a, b)) = range.split_once('-') {
        let (a, b) = (value(a, text, f)?, value(b, text, f)?);
        if a > b {
            return Err(Error(format!(
                "{} range {a}-{b} goes backwards: write the smaller value first",
                f.name
            )));
        }
        (a, b)
    } else {
        let v = value(range, text, f)?;
        // `5/10` is 5, 15, 25, ...
        (v, if step > 1 { f.max } else { v })
    };
    let mut bits = 0u64;
    let mut v = lo;
    while v <= hi {
        bits |= 1 << v;
        v += step;
    }
    Ok(bits)
}

fn value(s: &str, text: &str, f: &Field) -> Result<u32, Error> {
    if let Some(i) = f.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        // Month names start at 1, week day names at 0.
        return Ok(i as u32 + f.min);
    }
    let Ok(v) = s.parse::<u32>() else {
        let names = if f.names.is_empty() {
            String::new()
        } else {
            format!(" or a name ({})", f.names.join(", ").to_uppercase())
        };
        return Err(Error(format!("{} {text:?} is not a number{names}", f.name)));
    };
    if v < f.min || v > f.max {
        return Err(Error(format!(
            "{} {v} is out of range {}-{}",
            f.name, f.min, f.max
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        Cron::parse(s).expect_err(s).to_string()
    }

    #[test]
    fn fields() -> Result<(), Error> {
        let c = Cron::parse("*/15 9-17 * * MON-FRI")?;
        assert!(c.minute(0) && c.minute(45) && !c.minute(10));
        assert!(c.hour(9) && c.hour(17) && !c.hour(18));
        assert!(c.day(6, 1) && !c.day(6, 0) && !c.day(7, 6));
        let c = Cron::parse("30 */10 * * * *")?;
        assert!(c.second(30) && c.minute(50) && !c.minute(5));
        let c = Cron::parse("0 0 1 jan,Jul 7")?;
        assert!(c.month(1) && c.month(7) && !c.month(2));
        // Both day fields restricted: either matches; 7 is Sunday.
        assert!(c.day(1, 3) && c.day(12, 0) && !c.day(12, 1));
        assert_eq!(Cron::parse("@daily")?, Cron::parse("0 0 * * *")?);
        assert_eq!(Cron::parse("@weekly")?, Cron::parse("0 0 * * sun")?);
        assert_eq!(Cron::parse("5/20 * * * *")?, Cron::parse("5,25,45 * * * *")?);
        assert_eq!(c.next_second(0), Some(0));
        assert_eq!(Cron::parse("10,40 * * * *")?.next_minute(11), Some(40));
        assert_eq!(Cron::parse("10,40 * * * *")?.next_minute(41), None);
        Ok(())
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err("0 25 * * *"), "hour 25 is out of range 0-23");
        assert_eq!(err("60 * * * *"), "minute 60 is out of range 0-59");
        assert_eq!(err("61 0 * * * *"), "second 61 is out of range 0-59");
        assert_eq!(err("0 0 0 * *"), "day of month 0 is out of range 1-31");
        assert_eq!(err("0 0 * 13 *"), "month 13 is out of range 1-12");
        assert_eq!(err("0 0 * * 8"), "day of week 8 is out of range 0-7");
        assert!(err("0 0 * foo *").starts_with("month \"foo\" is not a number or a name (JAN"));
        assert!(err("* * *").contains("has 3"));
        assert!(err("@often").contains("unknown shorthand"));
        assert!(err("0 0 30 2 *").contains("never comes"));
        assert!(err("*/0 * * * *").contains("step 0"));
        assert!(err("0 5-2 * * *").contains("backwards"));
        assert!(Cron::parse("0 0 29 2 *").is_ok());
    }
}
