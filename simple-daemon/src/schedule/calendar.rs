//! The calendar of the feature `schedule`: a cron expression ([`simple_daemon_cron`], the
//! parser the `#[daemon]` attribute checks with) in the local time zone or an IANA one
//! (`chrono-tz`), and the builder methods [`schedule`](SimpleDaemon::schedule) and
//! [`timezone`](SimpleDaemon::timezone).
//!
//! Promises (DESIGN.md's DST rules): a start time that does not exist on a day (the hour skipped
//! when clocks go forward) runs at the first minute after the jump (02:30 in Berlin on the last
//! Sunday of March runs at 03:00 CEST); a start time that exists twice (the hour repeated when
//! clocks go back) runs only at its first occurrence. So a daily start runs exactly once on each
//! DST day. [`Calendar::next_after`] is strictly after its argument, so a start is never run
//! twice, even when the wall clock steps back over it.

use std::time::Duration;

use chrono::{
    DateTime, Datelike, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use simple_daemon_cron::Cron;

use crate::config::SimpleDaemon;
use crate::error::Error;

/// How far ahead a start time is looked for: a leap day comes within 8 years.
const HORIZON_YEARS: i32 = 9;

/// A cron schedule in a time zone.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    cron: Cron,
    zone: Zone,
}

/// The time zone the cron fields are read in.
#[derive(Debug, Clone, Copy)]
enum Zone {
    /// The process's local time (`TZ`, `/etc/localtime`).
    Local,
    Named(Tz),
}

impl SimpleDaemon {
    /// Run ticks on a calendar: a cron expression, five fields (`minute hour day-of-month month
    /// day-of-week`) or six with seconds first, or `@hourly`, `@daily`, `@weekly`, `@monthly`,
    /// read in local time or in [`timezone`](Self::timezone). Feature `schedule`.
    ///
    /// Runs never overlap: a run that lasts past the next start time is handled as
    /// [`missed`](Self::missed) says. A start time that does not exist (clocks go forward)
    /// runs at the first minute after the jump; one that exists twice (clocks go back) runs at
    /// its first occurrence only. The start lines, and each run, log the next one:
    /// `Next run: 2026-12-02 03:00:00 +01:00 (Europe/Berlin)`. With [`jitter`](Self::jitter),
    /// each run starts at its start time plus a random delay in `[0, jitter)`.
    ///
    /// An invalid expression, or one given with [`interval`](Self::interval), is an
    /// [`Error::Setting`] for `schedule`.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    ///
    /// let config = SimpleDaemon::new("Nightly")
    ///     .schedule("30 2 * * *")
    ///     .timezone("Europe/Berlin")
    ///     .config()?;
    /// assert_eq!(config.interval(), None);
    /// let err = SimpleDaemon::new("Nightly").schedule("0 25 * * *").config().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid schedule \"0 25 * * *\": hour 25 is out of range 0-23");
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn schedule(mut self, cron: impl Into<String>) -> Self {
        self.schedule = Some(cron.into());
        self
    }

    /// The time zone of [`schedule`](Self::schedule), an IANA name (`"Europe/Berlin"`,
    /// `"America/New_York"`, `"UTC"`); default the local time. Feature `schedule`.
    ///
    /// An unknown name is an [`Error::Setting`] for `timezone`, as is a `timezone` without a
    /// `schedule`.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    ///
    /// let nightly = SimpleDaemon::new("Nightly").schedule("0 3 * * *");
    /// assert!(nightly.clone().timezone("America/New_York").config().is_ok());
    /// let err = nightly.timezone("Europe/Berln").config().unwrap_err();
    /// assert!(err.to_string().starts_with("invalid timezone \"Europe/Berln\""));
    /// let err = SimpleDaemon::new("d").timezone("UTC").config().unwrap_err();
    /// assert!(err.to_string().contains("which is not set"));
    /// ```
    pub fn timezone(mut self, name: impl Into<String>) -> Self {
        self.timezone = Some(name.into());
        self
    }
}

/// The builder's check of `schedule`, `timezone` and their use with `interval`.
pub(crate) fn from_builder(
    schedule: Option<&str>,
    timezone: Option<&str>,
    interval: Option<Duration>,
) -> Result<Option<Calendar>, Error> {
    let zone = match timezone {
        None => Zone::Local,
        Some(name) => match name.parse::<Tz>() {
            Ok(tz) => Zone::Named(tz),
            Err(_) => {
                return Err(Error::setting(
                    "timezone",
                    name,
                    "not an IANA time zone name, like \"Europe/Berlin\" or \"UTC\"",
                ))
            }
        },
    };
    let Some(expr) = schedule else {
        return match timezone {
            Some(name) => Err(Error::setting(
                "timezone",
                name,
                "is the time zone of `schedule`, which is not set",
            )),
            None => Ok(None),
        };
    };
    if interval.is_some() {
        return Err(Error::setting(
            "schedule",
            expr,
            "cannot be used with `interval`: a daemon runs on a calendar or at a fixed rate",
        ));
    }
    let cron = Cron::parse(expr).map_err(|e| Error::setting("schedule", expr, e.to_string()))?;
    Ok(Some(Calendar { cron, zone }))
}

impl Calendar {
    /// A calendar in the named zone (for tests and the bench).
    #[cfg(test)]
    pub(crate) fn new(expr: &str, zone: Option<Tz>) -> Calendar {
        let cron = Cron::parse(expr).unwrap_or_else(|e| panic!("bad test cron {expr:?}: {e}"));
        Calendar {
            cron,
            zone: zone.map_or(Zone::Local, Zone::Named),
        }
    }

    /// The first start time strictly after `t` (a century ahead when there is none, which a
    /// parsed expression rules out).
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let next = match self.zone {
            Zone::Local => next_in(&self.cron, &Local, t),
            Zone::Named(tz) => next_in(&self.cron, &tz, t),
        };
        next.unwrap_or_else(|| t + chrono::Duration::days(36_500))
    }

    /// `2026-12-02 03:00:00 +01:00 (Europe/Berlin)`: `t` in the calendar's zone.
    pub(crate) fn describe(&self, t: DateTime<Utc>) -> String {
        const FORMAT: &str = "%Y-%m-%d %H:%M:%S %:z";
        match self.zone {
            Zone::Local => format!("{} (local time)", t.with_timezone(&Local).format(FORMAT)),
            Zone::Named(tz) => format!("{} ({})", t.with_timezone(&tz).format(FORMAT), tz.name()),
        }
    }
}

/// The first start time strictly after `t`, with the DST rules, in `zone`.
fn next_in<Z: TimeZone>(cron: &Cron, zone: &Z, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Every start time after `t` has a local reading after `t`'s: the earliest reading of a
    // repeated time and the end of a gap are both monotonic in the local reading.
    let mut local = t.with_timezone(zone).naive_local();
    let horizon = local.year() + HORIZON_YEARS;
    loop {
        let c = next_naive(cron, local, horizon)?;
        let at = match zone.from_local_datetime(&c) {
            LocalResult::Single(d) => Some(d),
            // Twice: the first occurrence only. Not always the pair's first: chrono's `Local`
            // gives the later one first.
            LocalResult::Ambiguous(a, b) => Some(a.min(b)),
            // Skipped by a jump forward: the first minute after the jump.
            LocalResult::None => gap_end(zone, c),
        }
        .map(|d| d.with_timezone(&Utc));
        if let Some(at) = at.filter(|&at| at > t) {
            return Some(at);
        }
        local = c;
    }
}

/// The first minute after `c` that exists in `zone` (`c` is inside a gap), at its earliest.
fn gap_end<Z: TimeZone>(zone: &Z, c: NaiveDateTime) -> Option<DateTime<Z>> {
    let minute = c.with_second(0)?.with_nanosecond(0)?;
    // Gaps are an hour or less in practice; a whole skipped day (Samoa, 2011) is two days.
    (1..=2 * 24 * 60).find_map(|k| {
        zone.from_local_datetime(&(minute + chrono::Duration::minutes(k)))
            .earliest()
    })
}

/// The first local reading strictly after `after` (in whole seconds) that the fields match,
/// before the year `horizon`.
fn next_naive(cron: &Cron, after: NaiveDateTime, horizon: i32) -> Option<NaiveDateTime> {
    let mut t = after.with_nanosecond(0)? + chrono::Duration::seconds(1);
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    while t.year() < horizon {
        let date = t.date();
        if !cron.month(t.month()) {
            let (y, m) = if t.month() == 12 {
                (t.year() + 1, 1)
            } else {
                (t.year(), t.month() + 1)
            };
            t = midnight(NaiveDate::from_ymd_opt(y, m, 1)?);
            continue;
        }
        if !cron.day(t.day(), date.weekday().num_days_from_sunday()) {
            t = midnight(date.succ_opt()?);
            continue;
        }
        let Some(h) = cron.next_hour(t.hour()) else {
            t = midnight(date.succ_opt()?);
            continue;
        };
        if h != t.hour() {
            t = date.and_hms_opt(h, 0, 0)?;
        }
        let Some(m) = cron.next_minute(t.minute()) else {
            t = date.and_hms_opt(h, 0, 0)? + chrono::Duration::hours(1);
            continue;
        };
        if m != t.minute() {
            t = date.and_hms_opt(h, m, 0)?;
        }
        let Some(s) = cron.next_second(t.second()) else {
            t = date.and_hms_opt(h, m, 0)? + chrono::Duration::minutes(1);
            continue;
        };
        return date.and_hms_opt(h, m, s);
    }
    None
}

#[cfg(test)]
mod tests;
