//! Rotation by size, with the semantics of Python's `RotatingFileHandler`, and by time
//! ([`RotateEvery`]: at the local hour or local midnight).
//!
//! Promises:
//! - [`needs_rollover`]: a file is rotated BEFORE a record that would make it larger than the
//!   limit, so no file ever exceeds the limit and no record is split across two files; a record
//!   larger than the limit goes alone into a fresh file (the only way a file passes the limit);
//! - [`shift`]: `x.log.N-1` becomes `x.log.N` (the oldest is dropped), ..., `x.log` becomes
//!   `x.log.1`, the newest backup; only removals and renames, so the caller's lock is held for
//!   those and nothing else, and no rename replaces a file: what a rename would replace is
//!   removed first, as Python's handler does (on ext4 a replacing rename first flushes the
//!   renamed file's data, `auto_da_alloc`: 1-2 ms per rotation);
//! - a backup may be plain (`x.log.2`) or gzipped (`x.log.2.gz`, feature `compress`): both
//!   count as backup 2, both are shifted, the oldest is dropped in either form, so retention
//!   stays `max_log_files` whatever was compressed; a compression's temporary file
//!   (`x.log.1.gz.<inode>.tmp`) is never counted nor shifted;
//! - [`TimeRotation`] says when the next time rotation is due: the first local hour (or
//!   midnight) boundary after the file's first record, computed in the local time zone at each
//!   rotation, so a 23 h or 25 h DST day rotates at its real midnight and an hourly rotation
//!   happens on every real hour (25 of them on the day the clocks go back). The boundary is a
//!   high-water mark: a wall clock stepped forward past several boundaries rotates once; one
//!   stepped back rotates no hour twice (the next rotation is at the boundary after the latest
//!   time seen). Per record the check is one integer comparison against the record's time;
//!   nothing is read from the system;
//! - a symbolic link at a backup name is never followed, moved or replaced: the renames from and
//!   into it are skipped and reported (once per name, by the caller), so a planted link cannot be used to
//!   clobber anything. `rename(2)` itself never follows a link, so no rename writes through one;
//! - these functions take no lock of their own: the caller ([`super::file`]) holds its sink
//!   lock and the directory `flock` around [`needs_rollover`] on the file's real size and
//!   [`shift`], and re-reads [`highest_backup`] under them, so two processes sharing a file
//!   never rotate it twice nor rename over each other's backups.
//!
//! Why our own rotator and not a crate: `fern` has no size rotation; `file-rotate` with
//! `ContentLimit::Bytes` cuts records in the middle and with `BytesSurpassed` lets files exceed
//! the limit; `flexi_logger` and `log4rs` bring their own logger (not a `fern` output) and name
//! backups differently from Python. The rule fits in a few lines and is tested here.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Duration as Span, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike};

/// How often the log file is rotated by time ([`rotate_every`](crate::SimpleDaemon::rotate_every)),
/// besides [`max_log_size`](crate::SimpleDaemon::max_log_size): whichever comes first.
///
/// The boundaries are local: the start of each hour, or local midnight, in the process's time
/// zone (`TZ`, else `/etc/localtime`). In the attribute and in a configuration file the values
/// are written `"1h"` and `"1d"`; [`FromStr`] reads them and [`Display`](fmt::Display) writes
/// them back.
///
/// ```
/// use simple_daemon::{RotateEvery, SimpleDaemon};
///
/// assert_eq!("1d".parse::<RotateEvery>(), Ok(RotateEvery::Day));
/// assert_eq!(RotateEvery::Hour.to_string(), "1h");
/// assert!("2h".parse::<RotateEvery>().is_err());
///
/// let config = SimpleDaemon::new("demo").rotate_every(RotateEvery::Hour).config()?;
/// assert_eq!(config.rotate_every(), Some(RotateEvery::Hour));
/// # Ok::<(), simple_daemon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotateEvery {
    /// `"1h"`: at the start of every local hour.
    Hour,
    /// `"1d"`: at local midnight.
    Day,
}

impl fmt::Display for RotateEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotateEvery::Hour => "1h",
            RotateEvery::Day => "1d",
        })
    }
}

/// The error of `"...".parse::<RotateEvery>()`: the value is neither `"1h"` nor `"1d"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRotateEveryError;

impl fmt::Display for ParseRotateEveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be \"1h\" (every local hour) or \"1d\" (at local midnight)")
    }
}

impl std::error::Error for ParseRotateEveryError {}

impl FromStr for RotateEvery {
    type Err = ParseRotateEveryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1h" => Ok(RotateEvery::Hour),
            "1d" => Ok(RotateEvery::Day),
            _ => Err(ParseRotateEveryError),
        }
    }
}

impl RotateEvery {
    /// The first boundary strictly after `ms` (milliseconds since the epoch) in `tz`, in
    /// milliseconds since the epoch.
    pub(crate) fn next_after<Tz: TimeZone>(self, ms: i64, tz: &Tz) -> i64 {
        let fallback = ms.saturating_add(3_600_000);
        let Some(now) = tz.timestamp_millis_opt(ms).earliest() else {
            return fallback;
        };
        let local = now.naive_local();
        let next = match self {
            // The next whole local hour, reached from this instant's offset: across a DST
            // change that lands on a whole hour too (02:00 CET is 03:00 CEST).
            RotateEvery::Hour => local.date().and_hms_opt(local.hour(), 0, 0).map(|h| {
                let offset_ms = i64::from(now.offset().fix().local_minus_utc()) * 1000;
                (h + Span::hours(1)).and_utc().timestamp_millis() - offset_ms
            }),
            RotateEvery::Day => local
                .date()
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|midnight| first_at_or_after(tz, midnight)),
        };
        next.unwrap_or(fallback).max(ms.saturating_add(1))
    }
}

/// The first instant at or after local time `t` in `tz` (milliseconds): the earlier of two
/// when `t` happens twice; the end of the gap when the clocks jump over `t`.
fn first_at_or_after<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) => Some(x.timestamp_millis()),
        // The earlier of the two: chrono's `Local` does not promise which comes first.
        LocalResult::Ambiguous(a, b) => Some(a.timestamp_millis().min(b.timestamp_millis())),
        LocalResult::None => {
            // In a gap: the instant the clocks jumped, which is `t` read in the offset before.
            let before = tz.from_local_datetime(&(t - Span::days(1))).earliest()?;
            let off = i64::from(before.offset().fix().local_minus_utc()) * 1000;
            Some(t.and_utc().timestamp_millis() - off)
        }
    }
}

/// When the next rotation by time is due, for one log file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeRotation {
    every: RotateEvery,
    /// The next boundary (milliseconds since the epoch): never moves back.
    next: i64,
}

impl TimeRotation {
    /// For a file whose first record may be from `since` (milliseconds since the epoch).
    pub(crate) fn new<Tz: TimeZone>(every: RotateEvery, since: i64, tz: &Tz) -> TimeRotation {
        TimeRotation {
            every,
            next: every.next_after(since, tz),
        }
    }

    /// The boundary that a record at `ms` or later has reached.
    pub(crate) fn next(&self) -> i64 {
        self.next
    }

    /// A record at `ms` passed the boundary (the file was rotated, or nothing had to be):
    /// the next boundary is the first after `ms`, and never earlier than the one passed.
    pub(crate) fn passed<Tz: TimeZone>(&mut self, ms: i64, tz: &Tz) {
        self.next = self.every.next_after(ms, tz).max(self.next.saturating_add(1));
    }
}

/// Whether a file of `size` bytes must be rotated before a record of `len` bytes is written to
/// it, for a limit of `max` bytes.
pub(crate) fn needs_rollover(size: u64, len: u64, max: u64) -> bool {
    size > 0 && size.saturating_add(len) > max
}

/// The name of backup `i` of `path`: `x.log.1`, `x.log.2`, ...
pub(crate) fn backup_name(path: &Path, i: usize) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// The gzipped name of backup `i`: `x.log.1.gz`.
pub(crate) fn gz_name(path: &Path, i: usize) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!(".{i}.gz"));
    PathBuf::from(s)
}

/// What went wrong during one rotation, for the caller to report (once per kind and name).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    /// Backup names that are symbolic links (left alone; the rename into them skipped).
    pub(crate) symlinks: Vec<PathBuf>,
    /// A rename that failed for another reason than a missing source.
    pub(crate) failed: Option<(PathBuf, io::Error)>,
}

/// The highest backup number of `path` (at most `backups`) that exists now, plain or gzipped:
/// one directory read,
/// so that a rotation renames the backups that exist, not `backups` names (which may be many).
pub(crate) fn highest_backup(path: &Path, backups: usize) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let mut prefix = name.to_os_string();
    prefix.push(".");
    let prefix = prefix.as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return backups;
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name();
            let digits = n.as_encoded_bytes().strip_prefix(prefix)?;
            let digits = digits.strip_suffix(b".gz").unwrap_or(digits);
            std::str::from_utf8(digits).ok()?.parse::<usize>().ok()
        })
        .filter(|&i| (1..=backups).contains(&i))
        .max()
        .unwrap_or(0)
}

/// Shift the backups of `path` by one and move `path` to `path.1`, keeping `backups` files;
/// `top` is the highest backup number that may exist (see [`highest_backup`]), updated. Each
/// backup moves in the form it has (`x.log.2` or `x.log.2.gz`); a backup arriving at a number
/// removes the other form left there (the dropped oldest, or a copy a crash left between a
/// compression's rename and its removal of the plain file).
///
/// Returns whether `path` was moved away (so the caller must open a new file); `false` when
/// `path.1` is a symbolic link or the rename failed: the caller goes on with its current file.
pub(crate) fn shift(path: &Path, backups: usize, top: &mut usize, problems: &mut Problems) -> bool {
    let from = (*top).min(backups.saturating_sub(1));
    *top = (from + 1).min(backups);
    for i in (1..=from).rev() {
        for (src, dst, other) in [
            (
                backup_name(path, i),
                backup_name(path, i + 1),
                gz_name(path, i + 1),
            ),
            (gz_name(path, i), gz_name(path, i + 1), backup_name(path, i + 1)),
        ] {
            if std::fs::symlink_metadata(&src).is_err() {
                continue;
            }
            move_over(Some(&src), &src, &dst, &other, problems);
        }
    }
    let first = backup_name(path, 1);
    // The live file's own path is the sink's to check (it never follows it).
    move_over(None, path, &first, &gz_name(path, 1), problems) != Moved::No
}

#[derive(PartialEq, Eq)]
enum Moved {
    Yes,
    /// The source was gone already (moved away by someone else).
    Gone,
    No,
}

/// Rename `src` to `dst` and remove `other` (the other form of `dst`'s number), leaving every
/// symbolic link alone (reported in `problems`): at `dst`, `other`, and `checked` (the source,
/// when it is a backup).
fn move_over(checked: Option<&Path>, src: &Path, dst: &Path, other: &Path, problems: &mut Problems) -> Moved {
    let mut linked = false;
    for p in checked.into_iter().chain([dst, other]) {
        if is_symlink(p) {
            linked = true;
            if !problems.symlinks.iter().any(|l| l == p) {
                problems.symlinks.push(p.to_path_buf());
            }
        }
    }
    if linked {
        return Moved::No;
    }
    if std::fs::symlink_metadata(src).is_ok() {
        // The rename would replace `dst` (the oldest backup, dropped): remove it first, so the
        // rename replaces nothing and ext4 does not flush `src`'s data before it.
        let _ = std::fs::remove_file(dst);
    }
    match std::fs::rename(src, dst) {
        Ok(()) => {
            match std::fs::remove_file(other) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    problems.failed.get_or_insert((other.to_path_buf(), e));
                }
            }
            Moved::Yes
        }
        // Someone moved the file away already (logrotate without a SIGHUP yet): start afresh.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Moved::Gone,
        Err(e) => {
            problems.failed.get_or_insert((dst.to_path_buf(), e));
            Moved::No
        }
    }
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate};
    use std::fs;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sd-rotate-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("mkdir");
        d
    }

    /// A zone of +1 in winter and +2 in summer, from `SPRING` to `AUTUMN` (seconds, UTC):
    /// an injected clock and zone, so the tests need no tz database.
    #[derive(Debug, Clone, Copy)]
    struct Zone<const SPRING: i64, const AUTUMN: i64>;

    /// Berlin's 2026 rules: CEST from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC.
    type Berlin = Zone<SPRING, AUTUMN>;
    #[allow(non_upper_case_globals)]
    const Berlin: Berlin = Zone;
    const SPRING: i64 = 1_774_746_000; // 2026-03-29 01:00:00 UTC
    const AUTUMN: i64 = 1_792_890_000; // 2026-10-25 01:00:00 UTC

    /// A zone whose clocks change at local midnight (as Chile's and Paraguay's did): 00:00 on
    /// 2026-03-29 does not exist (2026-03-28 23:00 UTC), 00:00 on 2026-10-25 happens twice
    /// (the change at 2026-10-24 23:00 UTC).
    type AtMidnight = Zone<1_774_738_800, 1_792_882_800>;

    impl<const S: i64, const A: i64> Zone<S, A> {
        fn offset_at(utc_secs: i64) -> FixedOffset {
            let h = if (S..A).contains(&utc_secs) { 2 } else { 1 };
            FixedOffset::east_opt(h * 3600).expect("offset")
        }
    }

    impl<const S: i64, const A: i64> TimeZone for Zone<S, A> {
        type Offset = FixedOffset;
        fn from_offset(_: &FixedOffset) -> Self {
            Zone
        }
        fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<FixedOffset> {
            self.offset_from_local_datetime(&local.and_hms_opt(0, 0, 0).expect("midnight"))
        }
        fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<FixedOffset> {
            let t = local.and_utc().timestamp();
            // Each offset whose reading of `local` maps back to itself.
            let fits: Vec<FixedOffset> = [1, 2]
                .into_iter()
                .map(|h| FixedOffset::east_opt(h * 3600).expect("offset"))
                .filter(|o| Self::offset_at(t - i64::from(o.local_minus_utc())) == *o)
                .collect();
            match fits.as_slice() {
                [o] => LocalResult::Single(*o),
                // The later instant first, as chrono's `Local` may give them.
                [a, b] => LocalResult::Ambiguous(*a, *b),
                _ => LocalResult::None,
            }
        }
        fn offset_from_utc_date(&self, utc: &NaiveDate) -> FixedOffset {
            self.offset_from_utc_datetime(&utc.and_hms_opt(0, 0, 0).expect("midnight"))
        }
        fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> FixedOffset {
            Self::offset_at(utc.and_utc().timestamp())
        }
    }

    /// `2026-03-29 03:00:00 +02:00` for instant `ms` in Berlin.
    fn local(ms: i64) -> String {
        Berlin
            .timestamp_millis_opt(ms)
            .single()
            .expect("instant")
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }

    /// Records every `step` ms from `from` to `to` (ms), with clock `jumps` (at, by ms): the
    /// local times at which a rotation happens.
    fn rotations(every: RotateEvery, from: i64, to: i64, step: i64, jumps: &[(i64, i64)]) -> Vec<String> {
        let mut rot = TimeRotation::new(every, from, &Berlin);
        let mut out = Vec::new();
        let (mut real, mut skew) = (from, 0);
        while real <= to {
            for &(at, by) in jumps {
                if real == at {
                    skew += by;
                }
            }
            let wall = real + skew;
            if wall >= rot.next() {
                out.push(local(wall));
                rot.passed(wall, &Berlin);
            }
            real += step;
        }
        out
    }

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, offset_h: i32) -> i64 {
        FixedOffset::east_opt(offset_h * 3600)
            .expect("offset")
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("time")
            .timestamp_millis()
    }

    #[test]
    fn the_table_zone_is_berlin() {
        assert_eq!(local(SPRING * 1000 - 1000), "2026-03-29 01:59:59 +01:00");
        assert_eq!(local(SPRING * 1000), "2026-03-29 03:00:00 +02:00");
        assert_eq!(local(AUTUMN * 1000 - 1000), "2026-10-25 02:59:59 +02:00");
        assert_eq!(local(AUTUMN * 1000), "2026-10-25 02:00:00 +01:00");
        let two = NaiveDate::from_ymd_opt(2026, 3, 29)
            .expect("d")
            .and_hms_opt(2, 30, 0)
            .expect("t");
        assert!(
            Berlin.from_local_datetime(&two).earliest().is_none(),
            "02:30 does not exist in spring"
        );
        let two = NaiveDate::from_ymd_opt(2026, 10, 25)
            .expect("d")
            .and_hms_opt(2, 30, 0)
            .expect("t");
        let both = Berlin.from_local_datetime(&two);
        let LocalResult::Ambiguous(a, b) = both else {
            panic!("02:30 exists twice in autumn");
        };
        assert_eq!(local(a.timestamp_millis()), "2026-10-25 02:30:00 +01:00");
        assert_eq!(local(b.timestamp_millis()), "2026-10-25 02:30:00 +02:00");
    }

    #[test]
    fn daily_rotation_is_at_local_midnight_on_23_and_25_hour_days() {
        // From noon before the spring change to noon after the day after: two midnights, 23 h apart.
        let got = rotations(
            RotateEvery::Day,
            ms(2026, 3, 28, 12, 0, 0, 1),
            ms(2026, 3, 30, 12, 0, 0, 2),
            10_000,
            &[],
        );
        assert_eq!(got, ["2026-03-29 00:00:00 +01:00", "2026-03-30 00:00:00 +02:00"]);
        let got = rotations(
            RotateEvery::Day,
            ms(2026, 10, 24, 12, 0, 0, 2),
            ms(2026, 10, 26, 12, 0, 0, 1),
            10_000,
            &[],
        );
        assert_eq!(got, ["2026-10-25 00:00:00 +02:00", "2026-10-26 00:00:00 +01:00"]);
        // 25 real hours between those two midnights.
        let (a, b) = (ms(2026, 10, 25, 0, 0, 0, 2), ms(2026, 10, 26, 0, 0, 0, 1));
        assert_eq!((b - a) / 3_600_000, 25);
    }

    #[test]
    fn a_midnight_that_does_not_exist_or_happens_twice_rotates_once() {
        let z = AtMidnight::from_offset(&FixedOffset::east_opt(3600).expect("offset"));
        let at = |ms: i64| {
            z.timestamp_millis_opt(ms)
                .single()
                .expect("instant")
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        };
        let run = |from: i64, to: i64| {
            let mut rot = TimeRotation::new(RotateEvery::Day, from, &z);
            let mut out = Vec::new();
            let mut t = from;
            while t <= to {
                if t >= rot.next() {
                    out.push(at(t));
                    rot.passed(t, &z);
                }
                t += 10_000;
            }
            out
        };
        // No 00:00 on 2026-03-29: the day begins at 01:00 +02:00, and rotates then.
        let got = run(ms(2026, 3, 28, 20, 0, 0, 1), ms(2026, 3, 29, 20, 0, 0, 2));
        assert_eq!(got, ["2026-03-29 01:00:00 +02:00"]);
        // 00:00 twice on 2026-10-25: one rotation, at the first.
        let got = run(ms(2026, 10, 24, 20, 0, 0, 2), ms(2026, 10, 25, 20, 0, 0, 1));
        assert_eq!(got, ["2026-10-25 00:00:00 +02:00"]);
    }

    #[test]
    fn hourly_rotation_is_on_every_real_hour_across_dst() {
        let spring = rotations(
            RotateEvery::Hour,
            ms(2026, 3, 29, 0, 0, 0, 1),
            ms(2026, 3, 30, 0, 0, 0, 2),
            1_000,
            &[],
        );
        // 23 files for the 23-hour day: 22 rotations in it, and one at its end.
        assert_eq!(spring.len(), 23, "{spring:?}");
        assert_eq!(spring[0], "2026-03-29 01:00:00 +01:00");
        assert_eq!(spring[1], "2026-03-29 03:00:00 +02:00", "02:00 CET is 03:00 CEST");
        assert_eq!(spring[21], "2026-03-29 23:00:00 +02:00");
        assert_eq!(spring[22], "2026-03-30 00:00:00 +02:00");
        let autumn = rotations(
            RotateEvery::Hour,
            ms(2026, 10, 25, 0, 0, 0, 2),
            ms(2026, 10, 26, 0, 0, 0, 1),
            1_000,
            &[],
        );
        assert_eq!(autumn.len(), 25, "{autumn:?}");
        assert_eq!(autumn[24], "2026-10-26 00:00:00 +01:00");
        assert_eq!(autumn[1], "2026-10-25 02:00:00 +02:00");
        assert_eq!(
            autumn[2], "2026-10-25 02:00:00 +01:00",
            "the repeated hour is its own file"
        );
        assert_eq!(autumn[3], "2026-10-25 03:00:00 +01:00");
    }

    #[test]
    fn a_clock_step_forward_rotates_once_and_one_back_rotates_no_hour_twice() {
        let t0 = ms(2026, 6, 1, 10, 30, 0, 2);
        // At 10:40 the clock jumps 5 h ahead (to 15:40): one rotation, then the next at 16:00.
        let got = rotations(
            RotateEvery::Hour,
            t0,
            t0 + 3_600_000,
            1_000,
            &[(t0 + 600_000, 5 * 3_600_000)],
        );
        assert_eq!(got, ["2026-06-01 15:40:00 +02:00", "2026-06-01 16:00:00 +02:00"]);
        // At 11:00:30 (just rotated) the clock goes back 40 min (to 10:20:30): no rotation at
        // 11:00 again; the next is at 12:00 on the new clock (the run ends at 12:50 by it).
        let got = rotations(
            RotateEvery::Hour,
            t0,
            t0 + 3 * 3_600_000,
            1_000,
            &[(t0 + 1_830_000, -2_400_000)],
        );
        assert_eq!(got, ["2026-06-01 11:00:00 +02:00", "2026-06-01 12:00:00 +02:00"]);
        // A daily rotation and the clock stepped back across midnight: not again that midnight.
        let t1 = ms(2026, 6, 1, 23, 59, 0, 2);
        let got = rotations(
            RotateEvery::Day,
            t1,
            t1 + 3_600_000,
            1_000,
            &[(t1 + 120_000, -600_000)],
        );
        assert_eq!(got, ["2026-06-02 00:00:00 +02:00"]);
    }

    #[test]
    fn a_file_from_before_the_boundary_rotates_at_the_first_record() {
        // Started at 09:10 with a file last written yesterday: the boundary is already past.
        let yesterday = ms(2026, 6, 1, 18, 0, 0, 2);
        let rot = TimeRotation::new(RotateEvery::Day, yesterday, &Berlin);
        assert!(ms(2026, 6, 2, 9, 10, 0, 2) >= rot.next());
        assert_eq!(local(rot.next()), "2026-06-02 00:00:00 +02:00");
    }

    #[test]
    fn gzipped_backups_count_shift_and_drop() {
        let d = tmp("gz");
        let p = d.join("x.log");
        fs::write(gz_name(&p, 1), "g1").expect("1.gz");
        fs::write(backup_name(&p, 2), "p2").expect("2");
        fs::write(d.join("x.log.1.gz.123.tmp"), "half").expect("tmp");
        assert_eq!(highest_backup(&p, 5), 2, "the temporary file is not a backup");
        fs::write(&p, "cur").expect("x.log");
        let mut problems = Problems::default();
        let mut top = highest_backup(&p, 2);
        assert!(shift(&p, 2, &mut top, &mut problems));
        // `.1.gz` became `.2.gz` and the old plain `.2` (the oldest) is gone: two backups.
        assert_eq!(fs::read_to_string(gz_name(&p, 2)).expect("2.gz"), "g1");
        assert!(!backup_name(&p, 2).exists());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "cur");
        assert!(!gz_name(&p, 1).exists());
        // With one backup kept, the plain file arriving at 1 removes the old `.1.gz`.
        fs::write(gz_name(&p, 1), "old").expect("1.gz");
        fs::write(&p, "new").expect("x.log");
        assert!(shift(&p, 1, &mut 1, &mut problems));
        assert!(!gz_name(&p, 1).exists());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "new");
        assert!(
            problems.symlinks.is_empty() && problems.failed.is_none(),
            "{problems:?}"
        );
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn rollover_rule() {
        // Python's rule, without its empty-file rotation: a file may reach the limit exactly.
        assert!(!needs_rollover(0, 10, 10));
        assert!(
            !needs_rollover(0, 11, 10),
            "an oversized record goes into the (empty) file"
        );
        assert!(!needs_rollover(5, 5, 10));
        assert!(needs_rollover(5, 6, 10));
        assert!(
            needs_rollover(11, 1, 10),
            "after an oversized record the next one rotates"
        );
    }

    #[test]
    fn backups_shift_and_the_oldest_drops() {
        let d = tmp("shift");
        let p = d.join("x.log");
        let mut problems = Problems::default();
        let mut top = highest_backup(&p, 2);
        assert_eq!(top, 0);
        for gen in 0..4 {
            fs::write(&p, format!("gen{gen}")).expect("write");
            assert!(shift(&p, 2, &mut top, &mut problems));
        }
        assert_eq!(top, 2);
        assert_eq!(highest_backup(&p, 2), 2);
        fs::write(backup_name(&p, 7), "x").expect("7");
        fs::write(d.join("x.log.bak"), "x").expect("bak");
        assert_eq!(highest_backup(&p, 9), 7);
        assert_eq!(highest_backup(&p, 5), 2);
        assert!(!p.exists());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "gen3");
        assert_eq!(fs::read_to_string(backup_name(&p, 2)).expect("2"), "gen2");
        assert!(!backup_name(&p, 3).exists());
        assert!(problems.symlinks.is_empty() && problems.failed.is_none());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn symlinks_at_backup_names_are_left_alone() {
        let d = tmp("link");
        let p = d.join("x.log");
        let victim = d.join("victim");
        fs::write(&victim, "precious").expect("victim");
        std::os::unix::fs::symlink(&victim, backup_name(&p, 2)).expect("symlink");
        fs::write(backup_name(&p, 1), "old").expect("1");
        fs::write(&p, "new").expect("x.log");
        let mut problems = Problems::default();
        assert!(shift(&p, 3, &mut highest_backup(&p, 3), &mut problems));
        assert_eq!(problems.symlinks, vec![backup_name(&p, 2)]);
        assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious");
        assert!(fs::symlink_metadata(backup_name(&p, 2))
            .expect("2")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "new");

        // A link at `.1`: the current file stays where it is.
        fs::remove_file(backup_name(&p, 1)).expect("rm");
        std::os::unix::fs::symlink(&victim, backup_name(&p, 1)).expect("symlink");
        fs::write(&p, "cur").expect("x.log");
        let mut problems = Problems::default();
        assert!(!shift(&p, 3, &mut 3, &mut problems));
        assert_eq!(fs::read_to_string(&p).expect("x.log"), "cur");
        assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious");
        let _ = fs::remove_dir_all(&d);
    }
}
