//! The operator's configuration file (feature `config`): which file, its keys over the built-in
//! ones, and its `[settings]` table.
//!
//! Promises:
//! - the file is `--config PATH` (which must exist), else the builder's
//!   [`config_file`](SimpleDaemon::config_file) (the attribute's `config = "..."`) when that file
//!   exists, else none;
//! - precedence: the built-in keys, then the file's, then `RUST_LOG` for the level;
//! - every error (TOML syntax, an unknown key with a suggestion, a bad value, a value the
//!   builder refuses, a `[settings]` table that does not fit the daemon's type) is
//!   [`Error::File`], naming the file, the line and the column;
//! - the settings are deserialized from the same text, so their errors carry the position too;
//!   what was read waits in one slot for `new` ([`take_settings`]) or `on_reload`.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use toml::de::{DeTable, DeValue};

use super::keys::{self, Val};
use super::{Config, Operator, Reload, SimpleDaemon};
use crate::error::Error;

/// Read the settings from a file's text: `Err` holds the byte range at fault, when known, and
/// the message.
type ReadSettings = fn(&str) -> Result<Box<dyn Any + Send>, (Option<std::ops::Range<usize>>, String)>;

/// How to read the daemon's own settings type from a file's text: set by
/// [`SimpleDaemon::main_with_settings`] and the runs beside it.
#[derive(Clone, Copy, Default)]
pub(crate) struct SettingsType(Option<ReadSettings>);

impl std::fmt::Debug for SettingsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "SettingsType(Some)"
        } else {
            "SettingsType(None)"
        })
    }
}

impl SettingsType {
    /// The settings type `S`.
    pub(crate) fn of<S: DeserializeOwned + Send + 'static>() -> Self {
        SettingsType(Some(|text| {
            read_settings::<S>(text).map(|s| Box::new(s) as Box<dyn Any + Send>)
        }))
    }
}

/// The settings last read (at start, or by the last reload that read a valid file).
static SETTINGS: Mutex<Option<Box<dyn Any + Send>>> = Mutex::new(None);

/// Take the settings last read, if they are of type `S`.
pub(crate) fn take_settings<S: 'static>() -> Option<S> {
    let mut slot = SETTINGS.lock().unwrap_or_else(PoisonError::into_inner);
    match slot.take()?.downcast::<S>() {
        Ok(s) => Some(*s),
        Err(other) => {
            *slot = Some(other);
            None
        }
    }
}

/// The file this builder reads, if any: `--config` (it must exist), else `config_file` when
/// that file exists.
fn which(b: &SimpleDaemon) -> Option<&Path> {
    match (&b.cli_config, &b.config_file) {
        (Some(p), _) => Some(p),
        (None, Some(p)) if p.exists() => Some(p),
        _ => None,
    }
}

/// The builder's configuration with the operator's file over it: what
/// [`SimpleDaemon::config`] returns.
pub(crate) fn resolve(b: &SimpleDaemon) -> Result<Config, Error> {
    let Some(path) = which(b) else {
        let mut config = b.check()?;
        if let Some(read) = b.settings.0 {
            let settings = read("").map_err(|(_, message)| {
                let file = b.config_file.as_ref().map_or_else(
                    || "give one with --config PATH".to_owned(),
                    |f| format!("{} does not exist", f.display()),
                );
                Error::Setting {
                    setting: "settings",
                    value: String::new(),
                    reason: format!(
                        "the daemon's settings need a [settings] table in a configuration file ({file}): {message}"
                    ),
                }
            })?;
            *SETTINGS.lock().unwrap_or_else(PoisonError::into_inner) = Some(settings);
        }
        config.operator = Operator {
            base: Some(Box::new(b.clone())),
            resolved: Some(Box::new(b.clone())),
            ..Operator::default()
        };
        return Ok(config);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::path(
            "config",
            path,
            "cannot be read as the configuration file",
            Some(e),
        )
    })?;
    let at = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |s| line_column(&text, s.start));
        Error::File {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    };
    let doc =
        DeTable::parse(&text).map_err(|e| at(e.span(), e.message().trim_end_matches('\n').to_owned()))?;
    let mut entries: Vec<_> = doc.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut builder = b.clone();
    let mut from_file = Vec::new();
    let mut positions = Vec::new();
    let mut settings_text = None;
    for (k, v) in entries {
        let name: &str = k.get_ref();
        if name == "settings" {
            if !v.get_ref().is_table() {
                return Err(at(Some(v.span()), "settings must be a table: [settings]".into()));
            }
            settings_text = Some(settings_toml(&text));
            continue;
        }
        let Some(key) = keys::key(name) else {
            return Err(at(Some(k.span()), keys::unknown(name)));
        };
        let val = match v.get_ref() {
            DeValue::String(s) => Val::Str(s),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Val::Int(n),
                Err(_) => return Err(at(Some(v.span()), format!("{name}: the integer is too large"))),
            },
            DeValue::Boolean(on) => Val::Bool(*on),
            other => Val::Other(article(other.type_str())),
        };
        (key.set)(&mut builder, val).map_err(|m| at(Some(v.span()), format!("invalid {name}: {m}")))?;
        from_file.push(key.name);
        positions.push((key.name, v.span()));
    }
    let mut config = builder.check().map_err(|e| match &e {
        Error::Setting { setting, .. } => match positions.iter().find(|(n, _)| n == setting) {
            Some((_, span)) => at(Some(span.clone()), e.to_string()),
            None => e,
        },
        _ => e,
    })?;
    if let Some(read) = b.settings.0 {
        let settings = read(&text).map_err(|(span, message)| {
            let span = span.or_else(|| {
                doc.get_ref()
                    .iter()
                    .find(|(k, _)| *k.get_ref() == "settings")
                    .map(|(k, _)| k.span())
            });
            at(span, format!("[settings]: {message}"))
        })?;
        *SETTINGS.lock().unwrap_or_else(PoisonError::into_inner) = Some(settings);
    }
    config.operator = Operator {
        base: Some(Box::new(b.clone())),
        resolved: Some(Box::new(builder)),
        file: Some(path.to_owned()),
        from_file,
        settings: settings_text,
    };
    Ok(config)
}

/// `a string`, `an array`: the value's type as a sentence says it.
fn article(t: &'static str) -> &'static str {
    match t {
        "float" => "a float",
        "datetime" => "a date-time",
        "array" => "an array",
        "table" => "a table",
        "string" => "a string",
        "integer" => "an integer",
        "boolean" => "a boolean",
        _ => "another type",
    }
}

/// The `[settings]` table as TOML, for `--check-config`.
fn settings_toml(text: &str) -> String {
    read_settings::<toml::Table>(text)
        .ok()
        .and_then(|t| toml::to_string(&t).ok())
        .unwrap_or_default()
}

/// Read `S` from the `[settings]` table of `text` (an empty table when there is none). `Err`
/// holds the byte range at fault, when toml knows it, and the message.
fn read_settings<S: DeserializeOwned>(text: &str) -> Result<S, (Option<std::ops::Range<usize>>, String)> {
    struct Doc<S>(Option<S>);
    struct DocVisitor<S>(std::marker::PhantomData<S>);
    impl<'de, S: serde::Deserialize<'de>> Visitor<'de> for DocVisitor<S> {
        type Value = Doc<S>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a TOML document")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<S>, A::Error> {
            let mut out = None;
            while let Some(k) = map.next_key::<String>()? {
                if k == "settings" {
                    out = Some(map.next_value::<S>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(Doc(out))
        }
    }
    impl<'de, S: serde::Deserialize<'de>> serde::Deserialize<'de> for Doc<S> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(DocVisitor(std::marker::PhantomData))
        }
    }
    let fail = |e: toml::de::Error| (e.span(), e.message().trim_end_matches('\n').to_owned());
    match toml::from_str::<Doc<S>>(text).map_err(fail)? {
        Doc(Some(s)) => Ok(s),
        Doc(None) => toml::from_str::<S>("").map_err(|e| {
            (
                None,
                format!(
                    "the file has no [settings] table, and the settings need one: {}",
                    fail(e).1
                ),
            )
        }),
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Read the operator's file again and apply it (SIGHUP): see [`Reload`].
///
/// A valid file is applied: every key that can change live takes its new value (the logger's
/// sinks are replaced, the schedule is the driver's to restart), and one INFO line says what
/// changed (`Reloaded /etc/x.toml: level debug -> info, interval 1s -> 2s`); a key that cannot
/// change live gets one WARN line and keeps its value until a restart. A file with a mistake,
/// or whose new sinks cannot be opened, is refused with one ERROR line (naming the line and
/// column of a mistake in the file) and nothing changes.
pub(crate) fn reload(current: &mut Config) -> Reload {
    let Some(base) = current.operator.base.clone() else {
        return Reload::NoFile;
    };
    let path = which(&base).map(Path::to_path_buf);
    if path.is_none() && current.operator.file.is_none() {
        // No file then or now: the reload is the hook alone, as without the feature (the
        // settings, if any, were read again from an empty table).
        return match resolve(&base) {
            Ok(_) => Reload::NoFile,
            Err(e) => refuse(&e),
        };
    }
    let new = match resolve(&base) {
        Ok(c) => c,
        Err(e) => return refuse(&e),
    };
    let (Some(old_b), Some(new_b)) = (
        current.operator.resolved.as_deref(),
        new.operator.resolved.as_deref(),
    ) else {
        return Reload::NoFile;
    };
    // The keys that cannot change live keep their values until a restart.
    let mut effective = new_b.clone();
    keys::keep_restart_keys(&mut effective, old_b);
    let mut config = match effective.check() {
        Ok(c) => c,
        Err(e) => return refuse(&e),
    };
    let shown = |b: &SimpleDaemon, c: &Config, key: &keys::Key| {
        if key.name == "level" {
            c.directives.clone()
        } else {
            (key.show)(b).map_or_else(|| "none".to_owned(), |v| v.trim_matches('"').to_owned())
        }
    };
    let mut changes = Vec::new();
    let mut waiting = Vec::new();
    for key in keys::KEYS {
        let was = shown(old_b, current, key);
        match key.live {
            keys::Live::Yes => {
                let now = shown(&effective, &config, key);
                if was != now {
                    changes.push((key.name, format!("{} {was} -> {now}", key.name)));
                }
            }
            keys::Live::Restart => {
                let asked = shown(new_b, &new, key);
                if was != asked {
                    waiting.push(format!(
                        "{} {was} -> {asked} needs a restart: it stays {was} until then",
                        key.name
                    ));
                }
            }
        }
    }
    if current.operator.settings != new.operator.settings {
        changes.push(("settings", "[settings] changed".to_owned()));
    }
    let shown_path = path.as_deref().map_or_else(
        || "the built-in configuration".to_owned(),
        |p| p.display().to_string(),
    );
    let logging = changes
        .iter()
        .any(|(k, _)| !SCHEDULE_KEYS.contains(k) && !["watchdog", "settings"].contains(k));
    if logging {
        if let Some(l) = crate::logging::global() {
            let moves_to = crate::logging::log_dir(&config).map(|(d, _)| d.join(&config.log_name));
            if let Ok(to) = &moves_to {
                if *to != l.file_path() {
                    crate::logging::lifecycle(
                        log::Level::Info,
                        format_args!("Reloading {shown_path}: logging to {} from now on", to.display()),
                    );
                }
            }
            if let Err(e) = l.reconfigure(&config) {
                return refuse(&e);
            }
        }
    }
    for w in waiting {
        crate::logging::lifecycle(log::Level::Warn, format_args!("Reloaded {shown_path}: {w}"));
    }
    if changes.is_empty() {
        crate::logging::lifecycle(log::Level::Info, format_args!("Reloaded {shown_path}: no change"));
    } else {
        let list: Vec<&str> = changes.iter().map(|(_, c)| c.as_str()).collect();
        crate::logging::lifecycle(
            log::Level::Info,
            format_args!("Reloaded {shown_path}: {}", list.join(", ")),
        );
    }
    let schedule = changes.iter().any(|(k, _)| SCHEDULE_KEYS.contains(k));
    config.operator = Operator {
        resolved: Some(Box::new(effective)),
        ..new.operator
    };
    *current = config;
    Reload::Applied { schedule }
}

/// The keys whose change restarts the schedule.
const SCHEDULE_KEYS: &[&str] = &[
    "interval",
    "schedule",
    "timezone",
    "missed",
    "jitter",
    "on_error",
    "max_backoff",
    "max_failures",
];

/// Log the refusal of a reload: one ERROR line.
fn refuse(e: &Error) -> Reload {
    crate::logging::lifecycle(
        log::Level::Error,
        format_args!("Reload refused: {e}; the daemon runs on with its configuration as it was"),
    );
    Reload::Refused
}

impl SimpleDaemon {
    /// The operator's configuration file (the attribute's `config = "/etc/my-daemon.toml"`):
    /// read at start when it exists, and again on each reload (SIGHUP). `--config PATH` on the
    /// command line replaces it (and must exist). Feature `config`.
    ///
    /// The file holds the attribute's keys (`level`, `interval`, `log_path`, `log_name`,
    /// `name`, ...) over the built-in ones, and a `[settings]` table for the daemon's own
    /// settings ([`main_with_settings`](Self::main_with_settings)); `RUST_LOG` still has the
    /// last word on the level. An unknown key, a bad value or a settings table that does not fit
    /// is [`Error::File`], naming the file, line and column (exit status 78 at start).
    ///
    /// ```
    /// # std::env::remove_var("RUST_LOG");
    /// let dir = std::env::temp_dir().join(format!("sd-doc-config-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let file = dir.join("poller.toml");
    /// std::fs::write(&file, "level = \"info\"\ninterval = \"30s\"\nlog_name = \"poller-1.log\"\n")?;
    ///
    /// let config = simple_daemon::SimpleDaemon::new("Poller").config_file(&file).config()?;
    /// assert_eq!(config.directives(), "info");
    /// assert_eq!(config.interval(), Some(std::time::Duration::from_secs(30)));
    /// assert_eq!(config.log_name(), "poller-1.log");
    /// assert_eq!(config.config_file(), Some(file.as_path()));
    ///
    /// std::fs::write(&file, "levle = \"info\"\n")?;
    /// let err = simple_daemon::SimpleDaemon::new("Poller").config_file(&file).config().unwrap_err();
    /// assert!(err.to_string().contains("line 1, column 1: unknown key \"levle\"; did you mean \"level\"?"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }
}

/// The start line that says which file was read: `Configuration file: /etc/x.toml`, or
/// `No configuration file` (and the `config` key's path that does not exist).
pub(crate) fn start_line(config: &Config) -> Option<String> {
    Some(
        match (
            &config.operator.file,
            config.operator.base.as_ref().and_then(|b| b.config_file.as_ref()),
        ) {
            (Some(f), _) => format!("Configuration file: {}", f.display()),
            (None, Some(key)) => format!(
                "No configuration file ({} does not exist): built-in configuration",
                key.display()
            ),
            (None, None) => "No configuration file: built-in configuration".to_owned(),
        },
    )
}

/// The settings the last reload read from the `[settings]` table, for a hand-written
/// [`Daemon::on_reload`](crate::Daemon::on_reload) (feature `config`): `Some` once per reload
/// that read a valid file, when `S` is the type the run was given
/// ([`SimpleDaemon::run_with_settings`], [`main_with_settings`](SimpleDaemon::main_with_settings)).
/// `#[daemon]` calls it for an `on_reload(&mut self, settings: S)`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Settings {
///     # #[allow(dead_code)]
///     greeting: String,
/// }
///
/// // Outside a running daemon nothing was read:
/// assert!(simple_daemon::reloaded_settings::<Settings>().is_none());
/// ```
pub fn reloaded_settings<S: 'static>() -> Option<S> {
    take_settings::<S>()
}

impl SimpleDaemon {
    /// The same builder, reading the settings type `S` from the file's `[settings]` table.
    fn with_settings<S: DeserializeOwned + Send + 'static>(&self) -> SimpleDaemon {
        let mut b = self.clone();
        b.settings = SettingsType::of::<S>();
        b
    }

    /// Like [`run_with`](Self::run_with), with the daemon's own settings: `init` gets `S`, read
    /// from the `[settings]` table of the operator's file (an empty table without one), and a
    /// reload reads them again for [`reloaded_settings`]. Feature `config`.
    ///
    /// A table that does not fit `S` is [`Error::File`] with the line and column (exit status
    /// 78 at start; a reload keeps the old configuration).
    pub fn run_with_settings<S, D, E, F>(&self, init: F) -> crate::Exit
    where
        S: DeserializeOwned + Send + 'static,
        D: crate::Daemon,
        E: std::fmt::Display,
        F: FnOnce(S) -> Result<D, E>,
    {
        self.with_settings::<S>().run_with(settings_init(init))
    }

    /// Like [`main`](Self::main), with the daemon's own settings ([`run_with_settings`](Self::run_with_settings)): what `#[daemon]` expands to when `new` (or `on_reload`) takes
    /// a settings parameter. Feature `config`.
    ///
    /// ```no_run
    /// use simple_daemon::{Context, Daemon, Exit, SimpleDaemon};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Settings { greeting: String }
    ///
    /// struct Greeter { settings: Settings }
    ///
    /// impl Daemon for Greeter {
    ///     type Error = std::convert::Infallible;
    ///     fn tick(&mut self, _ctx: &Context) -> Result<(), Self::Error> {
    ///         simple_daemon::log::info!("{}", self.settings.greeting);
    ///         Ok(())
    ///     }
    ///     fn on_reload(&mut self) {
    ///         if let Some(s) = simple_daemon::reloaded_settings::<Settings>() {
    ///             self.settings = s;
    ///         }
    ///     }
    /// }
    ///
    /// fn main() -> Exit {
    ///     SimpleDaemon::new("Greeter")
    ///         .config_file("/etc/greeter.toml") // [settings] greeting = "hello"
    ///         .main_with_settings(|settings: Settings| Ok::<_, std::io::Error>(Greeter { settings }))
    /// }
    /// ```
    pub fn main_with_settings<S, D, E, F>(&self, init: F) -> crate::Exit
    where
        S: DeserializeOwned + Send + 'static,
        D: crate::Daemon,
        E: std::fmt::Display,
        F: FnOnce(S) -> Result<D, E>,
    {
        self.with_settings::<S>().main(settings_init(init))
    }

    /// The async form of [`main_with_settings`](Self::main_with_settings) (features `config`
    /// and `tokio`): `init` gets the settings and returns the future that builds the state.
    #[cfg(feature = "tokio")]
    pub fn main_tokio_with_settings<S, D, E, Fut, F>(&self, init: F) -> crate::Exit
    where
        S: DeserializeOwned + Send + 'static,
        D: crate::AsyncDaemon,
        E: std::fmt::Display,
        Fut: std::future::Future<Output = Result<D, E>>,
        F: FnOnce(S) -> Fut,
    {
        self.with_settings::<S>().main_tokio(move || async move {
            match take_settings::<S>() {
                Some(s) => init(s).await.map_err(|e| e.to_string()),
                None => Err(MISSING.to_owned()),
            }
        })
    }
}

/// Cannot happen: the start read the settings before `init` runs.
const MISSING: &str = "the settings were not read";

/// `init` with the settings the start read.
fn settings_init<S: 'static, D, E: std::fmt::Display, F: FnOnce(S) -> Result<D, E>>(
    init: F,
) -> impl FnOnce() -> Result<D, String> {
    move || match take_settings::<S>() {
        Some(s) => init(s).map_err(|e| e.to_string()),
        None => Err(MISSING.to_owned()),
    }
}
