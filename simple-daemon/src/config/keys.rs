//! The keys an operator can set: one row per key of the attribute (and of the builder), with how
//! to read its value from the configuration file, how to show it, and whether it can change on a
//! live reload.
//!
//! Promises: [`KEYS`] names every attribute key but `config` and `crate` (a test reads the
//! macro's own list and fails on a key missing here); each value is checked as the attribute
//! checks it (durations `"60s"`, sizes `"1MiB"`, the words of `mode`, `missed`, `on_error`,
//! `flavor`), with the same wording; a key whose feature is off is refused with a sentence naming
//! the feature. Nothing here depends on the file format: [`Val`] is what any format gives.
// Without the feature `config` only the names and `show` are used (`--check-config`).
#![cfg_attr(not(feature = "config"), allow(dead_code))]

use std::path::PathBuf;
use std::time::Duration;

use super::{Mode, SimpleDaemon};
use crate::logging::filter::distance;
use crate::schedule::{Missed, OnError};

/// A value as the file gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    /// Any other type (a float, an array, a table, a date): its name.
    Other(&'static str),
}

/// Whether a key's new value takes effect on a reload, or only at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Live {
    Yes,
    Restart,
}

/// One key.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) live: Live,
    /// Check `val` and set it on the builder; `Err` says what is wrong with the value.
    pub(crate) set: fn(&mut SimpleDaemon, Val<'_>) -> Result<(), String>,
    /// The value in force, as a TOML value; `None` when unset.
    pub(crate) show: fn(&SimpleDaemon) -> Option<String>,
}

/// Every key of the file, in the order of the attribute's documentation.
pub(crate) const KEYS: &[Key] = &[
    Key {
        name: "name",
        live: Live::Restart,
        set: |b, v| {
            b.name = string(v)?.to_owned();
            Ok(())
        },
        show: |b| Some(quoted(&b.name)),
    },
    Key {
        name: "mode",
        live: Live::Restart,
        set: |b, v| {
            b.mode = match word(v, &["passive", "aggressive"])? {
                "passive" => Mode::Passive,
                _ => Mode::Aggressive,
            };
            Ok(())
        },
        show: |b| Some(quoted(&b.mode.to_string().to_lowercase())),
    },
    Key {
        name: "interval",
        live: Live::Yes,
        set: |b, v| {
            b.interval = Some(duration(v)?);
            Ok(())
        },
        show: |b| b.interval.map(show_duration),
    },
    Key {
        name: "level",
        live: Live::Yes,
        set: |b, v| {
            b.level = string(v)?.into();
            Ok(())
        },
        show: |b| Some(quoted(b.level.as_str())),
    },
    Key {
        name: "log_path",
        live: Live::Yes,
        set: |b, v| {
            let s = string(v)?;
            if s.is_empty() || s.contains('\0') {
                return Err("must be a non-empty directory path".into());
            }
            b.log_path = Some(PathBuf::from(s));
            Ok(())
        },
        show: |b| b.log_path.as_ref().map(|p| quoted(&p.to_string_lossy())),
    },
    Key {
        name: "log_name",
        live: Live::Yes,
        set: |b, v| {
            b.log_name = Some(string(v)?.to_owned());
            Ok(())
        },
        show: |b| b.log_name.as_deref().map(quoted),
    },
    Key {
        name: "log_format",
        live: Live::Yes,
        set: |b, v| {
            b.log_format = string(v)?.to_owned();
            Ok(())
        },
        show: |b| Some(quoted(&b.log_format)),
    },
    Key {
        name: "stream",
        live: Live::Yes,
        set: |b, v| {
            b.stream = flag(v)?;
            Ok(())
        },
        show: |b| Some(b.stream.to_string()),
    },
    Key {
        name: "syslog",
        live: Live::Yes,
        set: |b, v| {
            b.syslog = flag(v)?;
            Ok(())
        },
        show: |b| Some(b.syslog.to_string()),
    },
    Key {
        name: "syslog_socket",
        live: Live::Yes,
        set: |b, v| {
            b.syslog_socket = PathBuf::from(non_empty(v)?);
            Ok(())
        },
        show: |b| Some(quoted(&b.syslog_socket.to_string_lossy())),
    },
    Key {
        name: "journal",
        live: Live::Yes,
        set: |b, v| {
            b.journal = flag(v)?;
            Ok(())
        },
        show: |b| Some(b.journal.to_string()),
    },
    Key {
        name: "journal_socket",
        live: Live::Yes,
        set: |b, v| {
            b.journal_socket = PathBuf::from(non_empty(v)?);
            Ok(())
        },
        show: |b| Some(quoted(&b.journal_socket.to_string_lossy())),
    },
    Key {
        name: "buffered",
        live: Live::Restart,
        set: |b, v| {
            b.buffered = flag(v)?;
            Ok(())
        },
        show: |b| Some(b.buffered.to_string()),
    },
    Key {
        name: "max_log_size",
        live: Live::Yes,
        set: |b, v| {
            b.max_log_size = size(v)?;
            Ok(())
        },
        show: |b| Some(show_size(b.max_log_size)),
    },
    Key {
        name: "max_log_files",
        live: Live::Yes,
        set: |b, v| {
            let n = integer(v, 1, "the number of rotated files kept")?;
            b.max_log_files = usize::try_from(n).map_err(|_| "is too large".to_owned())?;
            Ok(())
        },
        show: |b| Some(b.max_log_files.to_string()),
    },
    Key {
        name: "rotate_every",
        live: Live::Yes,
        set: |b, v| {
            b.rotate_every = Some(
                string(v)?
                    .parse()
                    .map_err(|e: super::ParseRotateEveryError| e.to_string())?,
            );
            Ok(())
        },
        show: |b| b.rotate_every.map(|r| quoted(&r.to_string())),
    },
    Key {
        name: "compress",
        live: Live::Yes,
        set: |b, v| {
            needs("compress", cfg!(feature = "compress"))?;
            b.compress = flag(v)?;
            Ok(())
        },
        show: |b| Some(b.compress.to_string()),
    },
    Key {
        name: "stop_timeout",
        live: Live::Restart,
        set: |b, v| {
            b.stop_timeout = Some(duration(v)?);
            Ok(())
        },
        show: |b| b.stop_timeout.map(show_duration),
    },
    Key {
        name: "watchdog",
        live: Live::Yes,
        set: |b, v| {
            b.watchdog = Some(duration(v)?);
            Ok(())
        },
        show: |b| b.watchdog.map(show_duration),
    },
    Key {
        name: "schedule",
        live: Live::Yes,
        set: |b, v| {
            needs("schedule", cfg!(feature = "schedule"))?;
            b.schedule = Some(string(v)?.to_owned());
            Ok(())
        },
        show: |b| b.schedule.as_deref().map(quoted),
    },
    Key {
        name: "timezone",
        live: Live::Yes,
        set: |b, v| {
            needs("schedule", cfg!(feature = "schedule"))?;
            b.timezone = Some(string(v)?.to_owned());
            Ok(())
        },
        show: |b| b.timezone.as_deref().map(quoted),
    },
    Key {
        name: "missed",
        live: Live::Yes,
        set: |b, v| {
            b.missed = match word(v, &["delay", "skip", "burst"])? {
                "delay" => Missed::Delay,
                "skip" => Missed::Skip,
                _ => Missed::Burst,
            };
            Ok(())
        },
        show: |b| {
            Some(quoted(match b.missed {
                Missed::Delay => "delay",
                Missed::Skip => "skip",
                Missed::Burst => "burst",
            }))
        },
    },
    Key {
        name: "jitter",
        live: Live::Yes,
        set: |b, v| {
            b.jitter = Some(duration(v)?);
            Ok(())
        },
        show: |b| b.jitter.map(show_duration),
    },
    Key {
        name: "on_error",
        live: Live::Yes,
        set: |b, v| {
            b.on_error = match word(v, &["exit", "continue"])? {
                "exit" => OnError::Exit,
                _ => OnError::Continue,
            };
            Ok(())
        },
        show: |b| {
            Some(quoted(match b.on_error {
                OnError::Exit => "exit",
                OnError::Continue => "continue",
            }))
        },
    },
    Key {
        name: "max_backoff",
        live: Live::Yes,
        set: |b, v| {
            b.max_backoff = duration(v)?;
            Ok(())
        },
        show: |b| Some(show_duration(b.max_backoff)),
    },
    Key {
        name: "max_failures",
        live: Live::Yes,
        set: |b, v| {
            let n = integer(v, 1, "the consecutive errors that end the daemon")?;
            b.max_failures = Some(u32::try_from(n).map_err(|_| "is too large".to_owned())?);
            Ok(())
        },
        show: |b| b.max_failures.map(|n| n.to_string()),
    },
    Key {
        name: "flavor",
        live: Live::Restart,
        set: |b, v| {
            needs("tokio", cfg!(feature = "tokio"))?;
            b.runtime.current_thread = word(v, &["current_thread", "multi_thread"])? == "current_thread";
            Ok(())
        },
        show: |b| {
            cfg!(feature = "tokio").then(|| {
                quoted(if b.runtime.current_thread {
                    "current_thread"
                } else {
                    "multi_thread"
                })
            })
        },
    },
    Key {
        name: "worker_threads",
        live: Live::Restart,
        set: |b, v| {
            needs("tokio", cfg!(feature = "tokio"))?;
            let n = integer(v, 1, "the runtime's worker threads")?;
            b.runtime.worker_threads = Some(usize::try_from(n).map_err(|_| "is too large".to_owned())?);
            Ok(())
        },
        show: |b| b.runtime.worker_threads.map(|n| n.to_string()),
    },
    Key {
        name: "tick_timeout",
        live: Live::Restart,
        set: |b, v| {
            b.tick_timeout = Some(duration(v)?);
            Ok(())
        },
        show: |b| b.tick_timeout.map(show_duration),
    },
    Key {
        name: "admin",
        live: Live::Restart,
        set: |b, v| {
            needs("admin", cfg!(feature = "admin"))?;
            b.admin = Some(string(v)?.to_owned());
            Ok(())
        },
        show: |b| b.admin.as_deref().map(quoted),
    },
];

/// Copy the values of the keys that cannot change live (`Live::Restart`) from `from`: what a
/// reload keeps until the next start.
pub(crate) fn keep_restart_keys(b: &mut SimpleDaemon, from: &SimpleDaemon) {
    b.name.clone_from(&from.name);
    b.mode = from.mode;
    b.buffered = from.buffered;
    b.stop_timeout = from.stop_timeout;
    b.runtime = from.runtime;
    b.tick_timeout = from.tick_timeout;
    b.admin.clone_from(&from.admin);
}

/// The row of `name`.
pub(crate) fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Names an operator may bring from the seed or from habit, and the key they mean (as the
/// attribute's suggestions).
const ALIASES: &[(&str, &str)] = &[
    ("name_app", "name"),
    ("app_name", "name"),
    ("interrupt_mode", "mode"),
    ("period", "interval"),
    ("log_lvl", "level"),
    ("log_level", "level"),
    ("stdout", "stream"),
    ("max_size_byte_log", "max_log_size"),
    ("max_count_file_rotation", "max_log_files"),
    ("timeout", "stop_timeout"),
    ("format", "log_format"),
    ("log_dir", "log_path"),
    ("log_file", "log_name"),
    ("journald", "journal"),
    ("cron", "schedule"),
    ("tz", "timezone"),
    ("threads", "worker_threads"),
    ("metrics", "admin"),
];

/// The sentence for an unknown key: a suggestion when one is likely, and the valid keys.
pub(crate) fn unknown(word: &str) -> String {
    let alias = ALIASES.iter().find(|(a, _)| *a == word).map(|&(_, k)| k);
    let names = KEYS.iter().map(|k| k.name);
    let hint = match alias.or_else(|| nearest(word, names.clone().chain(["settings"]))) {
        Some(k) => format!("; did you mean \"{k}\"?"),
        None => String::new(),
    };
    let valid: Vec<&str> = names.collect();
    format!(
        "unknown key \"{word}\"{hint} Valid keys: {}, and the [settings] table",
        valid.join(", ")
    )
}

/// The closest of `candidates` to `word` by edit distance, when close enough to be a typo.
pub(crate) fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (distance(word.as_bytes(), c.as_bytes()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn needs(feature: &str, on: bool) -> Result<(), String> {
    if on {
        Ok(())
    } else {
        Err(format!(
            "needs the feature \"{feature}\" of simple-daemon, which this daemon was built without"
        ))
    }
}

fn type_error(v: Val<'_>, expected: &str) -> String {
    let found = match v {
        Val::Str(_) => "a string",
        Val::Int(_) => "an integer",
        Val::Bool(_) => "a boolean",
        Val::Other(t) => t,
    };
    format!("expected {expected}, not {found}")
}

fn string(v: Val<'_>) -> Result<&str, String> {
    match v {
        Val::Str(s) => Ok(s),
        other => Err(type_error(other, "a string")),
    }
}

fn non_empty(v: Val<'_>) -> Result<&str, String> {
    match string(v)? {
        "" => Err("must not be empty".into()),
        s => Ok(s),
    }
}

fn flag(v: Val<'_>) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(b),
        other => Err(type_error(other, "true or false")),
    }
}

fn integer(v: Val<'_>, min: i64, what: &str) -> Result<u64, String> {
    match v {
        Val::Int(n) if n < min => Err(format!("must be at least {min} ({what})")),
        Val::Int(n) => u64::try_from(n).map_err(|_| "is too large".to_owned()),
        other => Err(type_error(other, "an integer")),
    }
}

/// One of `words`, with a suggestion for a near miss.
fn word<'w>(v: Val<'_>, words: &[&'w str]) -> Result<&'w str, String> {
    let s = string(v)?;
    if let Some(w) = words.iter().find(|w| **w == s) {
        return Ok(w);
    }
    let expected: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    let hint =
        nearest(s, words.iter().copied()).map_or(String::new(), |w| format!("; did you mean \"{w}\"?"));
    Err(format!(
        "unknown value {s:?}{hint} Expected one of {}",
        expected.join(", ")
    ))
}

/// The units of a duration and their length in milliseconds, largest first.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// `"500ms"`, `"60s"`, `"5m"`, `"1h"`, `"1d"` (a space before the unit allowed), greater than zero.
pub(crate) fn duration(v: Val<'_>) -> Result<Duration, String> {
    let s = match v {
        Val::Int(n) => {
            return Err(format!(
                "expected a string with a unit, like \"{n}s\" (units: ms, s, m, h, d)"
            ))
        }
        v => string(v)?,
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, rest) = s.split_at(digits);
    let unit = rest.trim_start_matches(' ');
    if number.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: expected a whole number and a unit, like \"500ms\", \"60s\", \"5m\", \"1h\", \"1d\""
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "duration {s:?} has no unit: write \"{number}s\" (units: ms, s, m, h, d)"
        ));
    }
    let Some(&(_, factor)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        let hint = nearest(unit, DURATION_UNITS.iter().map(|(u, _)| *u))
            .map_or(String::new(), |u| format!("; did you mean \"{number}{u}\"?"));
        return Err(format!(
            "unknown unit {unit:?} in duration {s:?}{hint} Units: ms, s, m, h, d"
        ));
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("duration {s:?} is too large"))?;
    if ms == 0 {
        return Err("must be greater than zero (leave the key out for none)".into());
    }
    Ok(Duration::from_millis(ms))
}

/// An integer of bytes, or `"64KiB"`, `"1MiB"`, `"1GiB"`, `"100KB"`, `"1MB"`, `"512B"`; at least 1.
pub(crate) fn size(v: Val<'_>) -> Result<u64, String> {
    const UNITS: &[(&str, u64)] = &[
        ("B", 1),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
    ];
    let bytes = match v {
        Val::Int(n) => u64::try_from(n).map_err(|_| "must be at least 1 byte".to_owned())?,
        v => {
            let s = string(v)?;
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let (number, unit) = s.split_at(digits);
            if number.is_empty() {
                return Err(format!(
                    "invalid size {s:?}: expected a whole number and an optional unit, like \"64KiB\", \"1MiB\", \"4096\""
                ));
            }
            let factor = match UNITS.iter().find(|(u, _)| *u == unit) {
                Some(&(_, f)) => f,
                None if unit.is_empty() => 1,
                None => {
                    let hint = UNITS
                        .iter()
                        .find(|(u, _)| u.eq_ignore_ascii_case(unit))
                        .map(|(u, _)| *u)
                        .or_else(|| nearest(unit, UNITS.iter().map(|(u, _)| *u)))
                        .map_or(String::new(), |u| format!("; did you mean \"{number}{u}\"?"));
                    return Err(format!(
                        "unknown unit {unit:?} in size {s:?}{hint} Units: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB (powers of 1024)"
                    ));
                }
            };
            number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(factor))
                .ok_or_else(|| format!("size {s:?} is too large"))?
        }
    };
    if bytes == 0 {
        return Err("must be at least 1 byte".into());
    }
    Ok(bytes)
}

/// A TOML basic string.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration as the attribute writes it, in the largest unit that is exact (`"90s"`, `"1h"`).
pub(crate) fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let (unit, factor) = DURATION_UNITS
        .iter()
        .find(|(_, f)| ms.is_multiple_of(u128::from(*f)))
        .map_or(("ms", 1), |&(u, f)| (u, f));
    format!("\"{}{unit}\"", ms / u128::from(factor))
}

/// A size in the largest binary unit that is exact (`"1MiB"`), else in bytes.
fn show_size(bytes: u64) -> String {
    for (unit, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes.is_multiple_of(factor) {
            return format!("\"{}{unit}\"", bytes / factor);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attribute's keys, read from the macro's own list: every one (but `config`, which
    /// names the file, and `crate`) must be a key of the file too.
    #[test]
    fn the_file_takes_every_attribute_key() {
        let src = include_str!("../../../simple-daemon-macros/src/args.rs");
        let start = src
            .find("pub(crate) const KEYS: &[&str] = &[")
            .expect("the macro's KEYS");
        let list = &src[start..];
        let list = &list[..list.find("];").expect("end of KEYS")];
        let attribute: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
        assert!(attribute.len() > 20, "{attribute:?}");
        for name in attribute {
            if name == "crate" || name == "config" {
                continue;
            }
            assert!(
                key(name).is_some(),
                "attribute key {name:?} is not a key of the file"
            );
        }
    }

    #[test]
    fn values_are_checked_as_the_attribute_checks_them() {
        assert_eq!(duration(Val::Str("90s")), Ok(Duration::from_secs(90)));
        assert_eq!(duration(Val::Str("1500 ms")), Ok(Duration::from_millis(1500)));
        assert!(duration(Val::Str("5 sec"))
            .expect_err("refused")
            .contains("unknown unit"));
        assert!(duration(Val::Int(5)).expect_err("refused").contains("\"5s\""));
        assert_eq!(size(Val::Str("64KiB")), Ok(65536));
        assert_eq!(size(Val::Int(4096)), Ok(4096));
        assert!(size(Val::Str("1MIB"))
            .expect_err("refused")
            .contains("did you mean \"1MiB\"?"));
        assert!(word(Val::Str("agressive"), &["passive", "aggressive"])
            .expect_err("refused")
            .contains("did you mean \"aggressive\"?"));
        assert!(unknown("levle").contains("did you mean \"level\"?"));
        assert!(unknown("log_level").contains("did you mean \"level\"?"));
        assert_eq!(show_duration(Duration::from_secs(3600)), "\"1h\"");
        assert_eq!(show_duration(Duration::from_millis(1500)), "\"1500ms\"");
        assert_eq!(show_size(1 << 20), "\"1MiB\"");
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }
}
