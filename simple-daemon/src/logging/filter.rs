//! Filter directives: which records are logged, by level and target.
//!
//! Promises:
//! - [`Filter::parse`] reads env_logger's and `tracing`'s `EnvFilter` syntax: comma-separated
//!   directives, each `level` (the default for every target), `target=level`, or a bare `target`
//!   (every level of that target); levels are `off`, `error`, `warn`, `info`, `debug`, `trace`,
//!   in any case. A target applies to itself and to the modules under it, on `::` boundaries
//!   (`my_app` covers `my_app::db` but not `my_application`); the longest matching target wins;
//!   a later directive for the same target replaces an earlier one. When no default is given,
//!   records of other targets are not logged, as env_logger does;
//! - an invalid directive is an `Err` naming the directive and saying why, with a suggestion for
//!   a misspelt level (`"warning"` → `"warn"`);
//! - [`Filter::enabled`] allocates nothing and looks at the directives whose target starts with
//!   the record's first byte only (a 256-entry index built once), so a record of a disabled target
//!   costs a few nanoseconds however many directives there are; for `log` records whose target
//!   is the `'static` module path (the macros' default), [`Filter::enabled_record`] keeps the
//!   answer in a small per-thread cache keyed by the target's address;
//! - [`Filter::max`] is the most verbose level any directive lets through, for
//!   `log::set_max_level`, so a level no directive enables costs `log`'s callsite check alone;
//! - [`Filter::lifecycle`] is the level of the framework's own lifecycle lines (the start lines,
//!   the seed's stop lines, `Reloaded`): the level of a directive naming the framework's target
//!   `simple_daemon` when there is one (`simple_daemon=warn`, `simple_daemon=off`), else the
//!   default level but never less verbose than `info`. `RUST_LOG=warn` thus keeps the operator's
//!   record of a start and a stop (`Log level: warn (from RUST_LOG)` among it) and quiets the
//!   rest; only a directive that names the framework silences it.

use std::fmt;

use log::{Level, LevelFilter};

/// The level names, in `LevelFilter` order.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// What the builder's [`level`](crate::SimpleDaemon::level) takes: a level
/// ([`LevelFilter`](https://docs.rs/log/0.4/log/enum.LevelFilter.html) or
/// [`Level`](https://docs.rs/log/0.4/log/enum.Level.html)) or a string of filter directives,
/// `"info,hyper=warn,my_app::db=trace"`, checked by [`SimpleDaemon::config`](crate::SimpleDaemon::config).
///
/// ```
/// use simple_daemon::log::LevelFilter;
/// use simple_daemon::{Directives, SimpleDaemon};
///
/// let config = SimpleDaemon::new("demo").level("info,hyper=warn").config()?;
/// assert_eq!(config.directives(), "info,hyper=warn");
/// assert_eq!(Directives::from(LevelFilter::Warn).as_str(), "warn");
/// # Ok::<(), simple_daemon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives(String);

impl Directives {
    /// The directives' text, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<LevelFilter> for Directives {
    fn from(level: LevelFilter) -> Self {
        Directives(LEVELS[level as usize].to_owned())
    }
}

impl From<Level> for Directives {
    fn from(level: Level) -> Self {
        Directives::from(level.to_level_filter())
    }
}

impl From<&str> for Directives {
    fn from(s: &str) -> Self {
        Directives(s.to_owned())
    }
}

impl From<String> for Directives {
    fn from(s: String) -> Self {
        Directives(s)
    }
}

impl fmt::Display for Directives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The target of the framework's lifecycle lines, which only a directive naming it filters.
pub(crate) const LIFECYCLE_TARGET: &str = "simple_daemon";

/// Slots of the per-thread cache of [`Filter::enabled_record`].
const CACHE_SLOTS: usize = 16;

thread_local! {
    /// `(address, length, level)` of recently seen `'static` targets. The process has one filter,
    /// set once at start-up (a filter that could change would need a generation here).
    static CACHE: [std::cell::Cell<(usize, usize, LevelFilter)>; CACHE_SLOTS] =
        const { [const { std::cell::Cell::new((0, 0, LevelFilter::Off)) }; CACHE_SLOTS] };
}

/// One `target=level` directive.
#[derive(Debug, Clone)]
struct Directive {
    target: Box<str>,
    level: LevelFilter,
}

/// Parsed directives, ready to answer "is this record logged?".
#[derive(Clone)]
pub(crate) struct Filter {
    /// For targets no directive names.
    default: LevelFilter,
    /// Sorted by first byte, then longest target first.
    dirs: Box<[Directive]>,
    /// For each first byte, the range of `dirs` whose target starts with it.
    index: Box<[(u16, u16); 256]>,
    /// The most verbose level any directive enables.
    max: LevelFilter,
    /// The level of the framework's lifecycle lines ([`Filter::lifecycle`]).
    lifecycle: LevelFilter,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("default", &self.default)
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

impl Filter {
    /// Parse directives; the `Err` is the reason, naming the bad directive.
    pub(crate) fn parse(s: &str) -> Result<Filter, String> {
        let mut default = None;
        let mut dirs: Vec<Directive> = Vec::new();
        for raw in s.split(',') {
            let d = raw.trim();
            if d.is_empty() {
                continue;
            }
            let (target, level) = match d.split_once('=') {
                Some((t, l)) => {
                    let t = t.trim();
                    if t.is_empty() {
                        return Err(format!("directive {d:?} has no target before '='"));
                    }
                    (Some(t), parse_level(l.trim(), d)?)
                }
                None => match parse_level(d, d) {
                    Ok(l) => (None, l),
                    Err(e) if looks_like_level(d) => return Err(e),
                    Err(_) => (Some(d), LevelFilter::Trace),
                },
            };
            match target {
                None => default = Some(level),
                Some(t) => {
                    if let Some(bad) = t.chars().find(|c| {
                        c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '{' | '}' | '/' | '"')
                    }) {
                        return Err(format!(
                            "directive {d:?}: target {t:?} has {bad:?}, and targets are module paths such as my_app::db (span and regex filters are not supported)"
                        ));
                    }
                    dirs.retain(|o| &*o.target != t);
                    dirs.push(Directive {
                        target: t.into(),
                        level,
                    });
                }
            }
        }
        if dirs.len() > usize::from(u16::MAX) {
            return Err(format!("{} directives are too many", dirs.len()));
        }
        let default = default.unwrap_or(if dirs.is_empty() {
            LevelFilter::Error
        } else {
            LevelFilter::Off
        });
        dirs.sort_by(|a, b| {
            a.target.as_bytes()[0]
                .cmp(&b.target.as_bytes()[0])
                .then(b.target.len().cmp(&a.target.len()))
        });
        let mut index = Box::new([(0u16, 0u16); 256]);
        for (i, d) in dirs.iter().enumerate() {
            // Checked above: at most u16::MAX directives.
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            let slot = &mut index[usize::from(d.target.as_bytes()[0])];
            if slot.1 == 0 {
                *slot = (i, i + 1);
            } else {
                slot.1 = i + 1;
            }
        }
        let max = dirs.iter().map(|d| d.level).fold(default, Ord::max);
        let lifecycle = dirs
            .iter()
            .find(|d| same(d.target.as_bytes(), LIFECYCLE_TARGET.as_bytes()))
            .map_or(default.max(LevelFilter::Info), |d| d.level);
        Ok(Filter {
            default,
            dirs: dirs.into_boxed_slice(),
            index,
            max,
            lifecycle,
        })
    }

    /// The most verbose level any directive lets through.
    pub(crate) fn max(&self) -> LevelFilter {
        self.max
    }

    /// The level of the framework's own lifecycle lines (target [`LIFECYCLE_TARGET`]): a
    /// directive naming that target decides; without one, the default level, at least `info`.
    pub(crate) fn lifecycle(&self) -> LevelFilter {
        self.lifecycle
    }

    /// The level in force for `target`.
    #[inline]
    pub(crate) fn level_for(&self, target: &str) -> LevelFilter {
        let t = target.as_bytes();
        if let Some(&first) = t.first() {
            let (start, end) = self.index[usize::from(first)];
            for d in &self.dirs[usize::from(start)..usize::from(end)] {
                let p = d.target.as_bytes();
                if t.len() >= p.len()
                    && (t.len() == p.len() || t[p.len()..].starts_with(b"::"))
                    && same(&t[..p.len()], p)
                {
                    return d.level;
                }
            }
        }
        self.default
    }

    /// Whether a record of `level` for `target` is logged.
    #[inline]
    pub(crate) fn enabled(&self, level: Level, target: &str) -> bool {
        level <= self.max && level <= self.level_for(target)
    }

    /// Whether a `log` record is logged: [`enabled`](Self::enabled), with a per-thread cache
    /// of the level of `'static` targets (the module paths `log`'s macros pass by default), keyed
    /// by address: a `'static` string never changes, so its address names it. Other targets
    /// (`target: some_string`) are matched every time.
    #[inline]
    pub(crate) fn enabled_record(&self, r: &log::Record<'_>) -> bool {
        let level = r.level();
        if level > self.max {
            return false;
        }
        if self.dirs.is_empty() {
            return level <= self.default;
        }
        let target = r.target();
        let is_static = r.module_path_static().is_some_and(|m| std::ptr::eq(m, target));
        if !is_static {
            return level <= self.level_for(target);
        }
        let key = target.as_ptr() as usize;
        let slot = (key >> 3) % CACHE_SLOTS;
        let cached = CACHE
            .try_with(|c| {
                let (k, len, lv) = c[slot].get();
                if k == key && len == target.len() {
                    Some(lv)
                } else {
                    let lv = self.level_for(target);
                    c[slot].set((key, target.len(), lv));
                    Some(lv)
                }
            })
            .ok()
            .flatten();
        level <= cached.unwrap_or_else(|| self.level_for(target))
    }
}

/// `a == b` for two slices of the same length, eight bytes at a time (no `memcmp` call for
/// the short strings targets are).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last eight bytes, overlapping the previous word when `n` is not a multiple of 8.
    word(a, n - 8) == word(b, n - 8)
}

fn looks_like_level(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "warning" | "critical" | "fatal" | "err" | "notice" | "verbose" | "all" | "none"
    ) || near_level(&l).is_some()
}

/// A level name near a misspelt one.
pub(crate) fn near_level(s: &str) -> Option<&'static str> {
    let l = s.to_ascii_lowercase();
    let alias = match l.as_str() {
        "warning" => Some("warn"),
        "critical" | "fatal" | "err" => Some("error"),
        "notice" => Some("info"),
        "verbose" | "all" => Some("trace"),
        "none" => Some("off"),
        _ => None,
    };
    alias.or_else(|| {
        let limit = if l.len() >= 4 { 2 } else { 1 };
        LEVELS
            .iter()
            .copied()
            .map(|lv| (distance(l.as_bytes(), lv.as_bytes()), lv))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, _)| d)
            .map(|(_, lv)| lv)
    })
}

/// Optimal string alignment distance (a swap of neighbours is one edit).
pub(crate) fn distance(a: &[u8], b: &[u8]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

fn parse_level(s: &str, directive: &str) -> Result<LevelFilter, String> {
    if let Some(i) = LEVELS.iter().position(|l| l.eq_ignore_ascii_case(s)) {
        return Ok(match i {
            0 => LevelFilter::Off,
            1 => LevelFilter::Error,
            2 => LevelFilter::Warn,
            3 => LevelFilter::Info,
            4 => LevelFilter::Debug,
            _ => LevelFilter::Trace,
        });
    }
    let hint = near_level(s).map_or(String::new(), |n| format!(" (did you mean \"{n}\"?)"));
    Err(format!(
        "unknown level {s:?} in directive {directive:?}{hint}; the levels are off, error, warn, info, debug, trace"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Filter {
        Filter::parse(s).expect("valid")
    }

    #[test]
    fn lifecycle_lines_need_a_directive_naming_the_framework() {
        assert_eq!(f("warn").lifecycle(), LevelFilter::Info);
        assert_eq!(f("warn,my_app=debug").lifecycle(), LevelFilter::Info);
        assert_eq!(f("debug").lifecycle(), LevelFilter::Debug);
        assert_eq!(f("my_app").lifecycle(), LevelFilter::Info);
        assert_eq!(f("info,simple_daemon=warn").lifecycle(), LevelFilter::Warn);
        assert_eq!(f("trace,simple_daemon=off").lifecycle(), LevelFilter::Off);
        // A module of the framework is not the framework's target.
        assert_eq!(
            f("warn,simple_daemon::signals=off").lifecycle(),
            LevelFilter::Info
        );
        assert_eq!(f("error,simple_daemon=debug").lifecycle(), LevelFilter::Debug);
    }

    #[test]
    fn plain_levels() {
        assert_eq!(f("info").level_for("anything"), LevelFilter::Info);
        assert_eq!(f("DEBUG").max(), LevelFilter::Debug);
        assert_eq!(f("off").level_for("x"), LevelFilter::Off);
        assert_eq!(f("").level_for("x"), LevelFilter::Error);
    }

    #[test]
    fn most_specific_target_wins_on_module_boundaries() {
        let filter = f("info,hyper=warn,my_app::db=trace,my_app=debug");
        assert_eq!(filter.level_for("hyper"), LevelFilter::Warn);
        assert_eq!(filter.level_for("hyper::proto::h1"), LevelFilter::Warn);
        assert_eq!(filter.level_for("hyperx"), LevelFilter::Info);
        assert_eq!(filter.level_for("my_app"), LevelFilter::Debug);
        assert_eq!(filter.level_for("my_app::db"), LevelFilter::Trace);
        assert_eq!(filter.level_for("my_app::db::pool"), LevelFilter::Trace);
        assert_eq!(filter.level_for("my_app::dbx"), LevelFilter::Debug);
        assert_eq!(filter.level_for("my_application"), LevelFilter::Info);
        assert_eq!(filter.level_for(""), LevelFilter::Info);
        assert_eq!(filter.max(), LevelFilter::Trace);
        assert!(filter.enabled(Level::Trace, "my_app::db"));
        assert!(!filter.enabled(Level::Info, "hyper::client"));
    }

    #[test]
    fn bare_target_and_no_default() {
        let filter = f("my_app");
        assert_eq!(filter.level_for("my_app::x"), LevelFilter::Trace);
        assert_eq!(filter.level_for("other"), LevelFilter::Off);
        let filter = f("a=warn, a=debug ,");
        assert_eq!(filter.level_for("a"), LevelFilter::Debug);
    }

    #[test]
    fn errors_name_the_directive() {
        let e = Filter::parse("info,hyper=loud").expect_err("bad");
        assert_eq!(e, "unknown level \"loud\" in directive \"hyper=loud\"; the levels are off, error, warn, info, debug, trace");
        let e = Filter::parse("warning").expect_err("bad");
        assert!(e.contains("did you mean \"warn\"?"), "{e}");
        let e = Filter::parse("info,db=degub").expect_err("bad");
        assert!(e.contains("did you mean \"debug\"?"), "{e}");
        let e = Filter::parse("inof").expect_err("bad");
        assert!(e.contains("did you mean \"info\"?"), "{e}");
        let e = Filter::parse("=warn").expect_err("bad");
        assert!(e.contains("no target"), "{e}");
        let e = Filter::parse("h[span]=warn").expect_err("bad");
        assert!(e.contains("not supported"), "{e}");
    }

    #[test]
    fn many_directives_index() {
        let mut s = String::from("warn");
        for i in 0..20 {
            s.push_str(&format!(",crate{i}::m=trace"));
        }
        let filter = f(&s);
        assert_eq!(filter.level_for("crate7::m::x"), LevelFilter::Trace);
        assert_eq!(filter.level_for("crate7::n"), LevelFilter::Warn);
        assert_eq!(filter.level_for("zzz"), LevelFilter::Warn);
    }

    #[test]
    fn log_records_static_and_dynamic_targets() {
        static DB: &str = "my_app::db";
        static OTHER: &str = "my_app::dbx";
        let filter = f("info,my_app::db=trace");
        let record = |target: &'static str, level: Level, dynamic: Option<&str>| {
            let args = format_args!("x");
            let mut b = log::Record::builder();
            b.args(args).level(level).module_path_static(Some(target));
            let r = match dynamic {
                Some(d) => b.target(d).build(),
                None => b.target(target).build(),
            };
            filter.enabled_record(&r)
        };
        for _ in 0..3 {
            // Cached by address: each static target keeps its own level.
            assert!(record(DB, Level::Trace, None));
            assert!(!record(OTHER, Level::Debug, None));
            assert!(record(OTHER, Level::Info, None));
            // A target that is not the static module path is matched by content.
            let owned = String::from("my_app::dbx");
            assert!(!record(DB, Level::Trace, Some(&owned)));
            let owned = String::from("my_app::db::pool");
            assert!(record(OTHER, Level::Trace, Some(&owned)));
        }
        assert!(!f("warn").enabled_record(
            &log::Record::builder()
                .args(format_args!("x"))
                .level(Level::Info)
                .build()
        ));
    }

    #[test]
    fn word_compare() {
        let a = b"structured::noisy::client";
        for n in 0..a.len() {
            assert!(same(&a[..n], &a[..n]));
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 1;
                assert!(!same(&a[..n], &b), "{n} {i}");
            }
        }
        assert!(!same(b"ab", b"abc"));
    }
}
