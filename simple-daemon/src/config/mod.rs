//! The builder, [`SimpleDaemon`], the validated [`Config`] it produces, and the operator's
//! configuration over it.
//!
//! Every key of the `#[daemon(...)]` attribute is a builder method of the same name with the same
//! default. Values are checked once, by [`SimpleDaemon::config`] (which [`SimpleDaemon::start`]
//! and [`SimpleDaemon::run`] call): a bad value is an [`Error`] naming the setting, never a panic.
//!
//! Modules: [`keys`] (every key an operator can set: its value's syntax, how it is shown, whether
//! it changes live), `file` (feature `config`: the TOML file, its `[settings]` table, and the
//! precedence built-in, file, `RUST_LOG`), [`show`] (`--check-config`'s report).

use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;

use crate::error::Error;
pub use crate::logging::filter::Directives;
use crate::logging::filter::Filter;
use crate::logging::format::Template;
pub use crate::logging::format::{DEFAULT_LOG_FORMAT, JSON_LOG_FORMAT};
pub use crate::logging::rotate::{ParseRotateEveryError, RotateEvery};
use crate::logging::DEFAULT_JOURNAL_SOCKET;
use crate::schedule::{self, Calendar, Missed, OnError, DEFAULT_MAX_BACKOFF};

#[cfg(feature = "config")]
mod file;
#[cfg(not(feature = "config"))]
#[path = "no_file.rs"]
mod file;
pub(crate) mod keys;
pub(crate) mod show;

#[cfg(feature = "config")]
pub use file::reloaded_settings;
pub(crate) use file::{reload, start_line};

/// What a reload (SIGHUP) did with the operator's configuration, for the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "config"), allow(dead_code))] // without the feature: `NoFile` alone
pub(crate) enum Reload {
    /// No configuration file, before or now: the reload is `on_reload` alone, as without the
    /// feature `config`.
    NoFile,
    /// The file was read and applied (its INFO line logged); `schedule`: a key of the schedule
    /// changed, so the driver starts the schedule again (the next tick at once).
    Applied {
        /// A key of the schedule changed.
        schedule: bool,
    },
    /// The file was refused (its ERROR line logged): nothing changed, `on_reload` does not run.
    Refused,
}

/// The environment variable whose directives, when set and not empty at start, replace
/// [`SimpleDaemon::level`].
pub const RUST_LOG: &str = "RUST_LOG";

/// Default size limit of the log file before it is rotated: 1 MiB, as in the seed.
pub const DEFAULT_MAX_LOG_SIZE: u64 = 1024 * 1024;
/// Default number of rotated files kept (`x.log.1`, `x.log.2`), as in the seed.
pub const DEFAULT_MAX_LOG_FILES: usize = 2;
/// Default syslog socket.
pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

/// What a SIGINT or SIGTERM does to a running daemon.
///
/// ```
/// use simple_daemon::Mode;
///
/// assert_eq!(Mode::default(), Mode::Passive);
/// assert_eq!(Mode::Aggressive.to_string(), "AGGRESSIVE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// The tick in progress runs to its end, no new tick starts, the sleep between ticks ends at
    /// once, `on_stop` runs, `Graceful Interrupt...` is logged and the process exits 0.
    ///
    /// A second SIGINT/SIGTERM, or [`stop_timeout`](SimpleDaemon::stop_timeout) elapsing, turns
    /// the stop into an aggressive one.
    #[default]
    Passive,
    /// The process ends at once, from the signal thread, without waiting for the user's code:
    /// `Received <n> signal.` and `Graceful Interrupt...` are logged, every sink is flushed (a
    /// sink blocked by the tick is waited for a bounded time), systemd is told `STOPPING=1`, and
    /// the process ends with exit status 0 through the `_exit` system call (so no destructor and
    /// no `atexit` handler runs), within 650 ms even when a log write is blocked in the kernel (a
    /// write to a frozen file system, `fsfreeze`, holds the process until the thaw: nothing in
    /// user space can end that wait).
    ///
    /// No user code runs on an aggressive stop: neither `on_stop` nor any `Drop` of the state.
    Aggressive,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Passive => "PASSIVE",
            Mode::Aggressive => "AGGRESSIVE",
        })
    }
}

/// The builder of a daemon, named after the seed's class.
///
/// Methods are named like the attribute's keys and have the same defaults. It ends in
/// [`start`](Self::start) (the seed's hand-written loop), [`run`](Self::run) (a value that
/// implements [`Daemon`](crate::Daemon)), or [`main`](Self::main) (the generated binary's
/// command line, then the run: what `#[daemon]` expands to).
///
/// ```
/// use simple_daemon::{Mode, SimpleDaemon};
/// use std::time::Duration;
///
/// let config = SimpleDaemon::new("MyDaemon")
///     .mode(Mode::Aggressive)
///     .interval(Duration::from_secs(60))
///     .max_log_size(64 * 1024)
///     .config()
///     .unwrap();
/// assert_eq!(config.name(), "MyDaemon");
/// assert_eq!(config.mode(), Mode::Aggressive);
/// assert_eq!(config.max_log_files(), 2);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` or `run` is called"]
pub struct SimpleDaemon {
    name: String,
    mode: Mode,
    interval: Option<Duration>,
    level: Directives,
    log_path: Option<PathBuf>,
    log_name: Option<String>,
    log_format: String,
    stream: bool,
    syslog: bool,
    syslog_socket: PathBuf,
    journal: bool,
    journal_socket: PathBuf,
    max_log_size: u64,
    max_log_files: usize,
    pub(crate) rotate_every: Option<RotateEvery>,
    /// `compress` (feature `compress`; its builder method lives in `logging::compress`).
    pub(crate) compress: bool,
    stop_timeout: Option<Duration>,
    buffered: bool,
    watchdog: Option<Duration>,
    version: Option<String>,
    tick_timeout: Option<Duration>,
    admin: Option<String>,
    pub(crate) runtime: RuntimeKeys,
    missed: Missed,
    jitter: Option<Duration>,
    on_error: OnError,
    max_backoff: Duration,
    max_failures: Option<u32>,
    /// `schedule = "..."` and `timezone = "..."` (feature `schedule`; their builder methods
    /// live in the `schedule` module).
    pub(crate) schedule: Option<String>,
    pub(crate) timezone: Option<String>,
    /// `config = "..."`: the operator's file, read when it exists (feature `config`).
    pub(crate) config_file: Option<PathBuf>,
    /// `--config PATH`: the operator's file, which must exist (set by the command line).
    pub(crate) cli_config: Option<PathBuf>,
    /// The daemon's own settings type, read from the file's `[settings]` (feature `config`).
    #[cfg_attr(not(feature = "config"), allow(dead_code))]
    pub(crate) settings: file::SettingsType,
}

/// A validated configuration, made by [`SimpleDaemon::config`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) interval: Option<Duration>,
    pub(crate) filter: Filter,
    pub(crate) directives: String,
    pub(crate) from_rust_log: bool,
    pub(crate) log_path: Option<PathBuf>,
    pub(crate) log_name: String,
    pub(crate) template: Template,
    pub(crate) stream: bool,
    pub(crate) syslog: bool,
    pub(crate) syslog_socket: PathBuf,
    pub(crate) journal: bool,
    pub(crate) journal_socket: PathBuf,
    pub(crate) max_log_size: u64,
    pub(crate) max_log_files: usize,
    pub(crate) rotate_every: Option<RotateEvery>,
    pub(crate) compress: bool,
    pub(crate) stop_timeout: Option<Duration>,
    pub(crate) buffered: bool,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) tick_timeout: Option<Duration>,
    pub(crate) admin: Option<std::net::SocketAddr>,
    pub(crate) version: Option<String>,
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) runtime: RuntimeKeys,
    pub(crate) missed: Missed,
    pub(crate) jitter: Option<Duration>,
    pub(crate) on_error: OnError,
    pub(crate) max_backoff: Duration,
    pub(crate) max_failures: Option<u32>,
    /// The calendar of `schedule` and `timezone`, when given (feature `schedule`).
    pub(crate) calendar: Option<Calendar>,
    /// Where the values came from, and how to read them again (a reload).
    pub(crate) operator: Operator,
}

/// What the operator's configuration added to the built-in one: the file read, the keys it
/// set, its `[settings]` table; and the builder to resolve again on a reload.
#[derive(Debug, Clone, Default)]
pub(crate) struct Operator {
    /// The builder the configuration was resolved from (before the file).
    pub(crate) base: Option<Box<SimpleDaemon>>,
    /// The same builder with the file's keys set (what [`show`] reads).
    pub(crate) resolved: Option<Box<SimpleDaemon>>,
    /// The configuration file read, if any.
    pub(crate) file: Option<PathBuf>,
    /// The keys the file set.
    pub(crate) from_file: Vec<&'static str>,
    /// The file's `[settings]` table, as TOML, when it has one.
    pub(crate) settings: Option<String>,
}

/// The tokio runtime's keys, `flavor` and `worker_threads` (set by the builder methods of the
/// feature `tokio`, in `drive::tokio`; plain data here so the builder needs no `#[cfg]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) struct RuntimeKeys {
    /// `flavor = "current_thread"`; else multi-thread, as `#[tokio::main]`.
    pub(crate) current_thread: bool,
    /// `worker_threads = N`; else tokio's default (one per CPU).
    pub(crate) worker_threads: Option<usize>,
}

impl SimpleDaemon {
    /// A builder for the daemon `name` (the seed's `name_app`): it appears in every log line,
    /// names the default log file `<name>.log`, and is the syslog tag.
    pub fn new(name: impl Into<String>) -> Self {
        SimpleDaemon {
            name: name.into(),
            mode: Mode::Passive,
            interval: None,
            level: Directives::from(LevelFilter::Debug),
            log_path: None,
            log_name: None,
            log_format: DEFAULT_LOG_FORMAT.to_owned(),
            stream: false,
            syslog: false,
            syslog_socket: PathBuf::from(DEFAULT_SYSLOG_SOCKET),
            journal: false,
            journal_socket: PathBuf::from(DEFAULT_JOURNAL_SOCKET),
            max_log_size: DEFAULT_MAX_LOG_SIZE,
            max_log_files: DEFAULT_MAX_LOG_FILES,
            rotate_every: None,
            compress: false,
            stop_timeout: None,
            buffered: false,
            watchdog: None,
            tick_timeout: None,
            admin: None,
            version: None,
            runtime: RuntimeKeys::default(),
            missed: Missed::Delay,
            jitter: None,
            on_error: OnError::Exit,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_failures: None,
            schedule: None,
            timezone: None,
            config_file: None,
            cli_config: None,
            settings: file::SettingsType::default(),
        }
    }

    /// What SIGINT/SIGTERM do (the seed's `interrupt_mode`); default [`Mode::Passive`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Start ticks at this fixed rate, on a schedule (the seed's `Timekeeper`): tick `n` is due
    /// `n` intervals after the first, so late wake-ups do not add up (500 ticks of 10 ms take
    /// 5 s, not 5 s plus 500 wake-up delays).
    ///
    /// A tick that overruns its interval is followed at once by the next one, and the schedule
    /// starts again from there, without a burst of catch-up ticks. Default: none, ticks run back
    /// to back. A zero interval means none.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// The log threshold (the seed's `log_lvl`): a level, or filter directives in env_logger's
    /// and `tracing`'s `EnvFilter` syntax; default
    /// [`LevelFilter::Debug`](https://docs.rs/log/0.4/log/enum.LevelFilter.html#variant.Debug):
    /// every level but `Trace`.
    ///
    /// Directives are comma-separated: a level (`info`) is the default for every target,
    /// `target=level` sets the level of a target and of the modules under it (`my_app::db=trace`
    /// covers `my_app::db::pool`, not `my_app::dbx`), a bare target enables all of its levels;
    /// the longest matching target wins. Without a default level, records of targets no directive
    /// names are not logged (as with env_logger). Levels: `off`, `error`, `warn`, `info`,
    /// `debug`, `trace`. A bad directive is an [`Error::Setting`] for `level` from
    /// [`config`](Self::config).
    ///
    /// `RUST_LOG`, when set and not blank at start, replaces this; an invalid `RUST_LOG` is an
    /// [`Error::Setting`] for `RUST_LOG` (exit status 78).
    ///
    /// The daemon's own lifecycle lines (the start lines, the seed's stop lines, `Reloaded`) have
    /// the target `simple_daemon` and are logged at the default level but never less than
    /// `info`, so `"warn"` keeps the operator's record of a start and a stop; a directive naming
    /// that target (`simple_daemon=warn`, `simple_daemon=off`) filters them.
    ///
    /// ```
    /// use simple_daemon::log::LevelFilter;
    /// use simple_daemon::SimpleDaemon;
    ///
    /// # std::env::remove_var("RUST_LOG");
    /// let config = SimpleDaemon::new("demo").level(LevelFilter::Info).config()?;
    /// assert_eq!(config.directives(), "info");
    /// let config = SimpleDaemon::new("demo").level("info,hyper=warn,my_app::db=trace").config()?;
    /// assert_eq!(config.level(), LevelFilter::Trace); // the most verbose directive
    /// let err = SimpleDaemon::new("demo").level("info,hyper=warning").config().unwrap_err();
    /// assert!(err.to_string().contains("did you mean \"warn\"?"));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn level(mut self, level: impl Into<Directives>) -> Self {
        self.level = level.into();
        self
    }

    /// The directory of the log file. Default: `$LOGS_DIRECTORY` (systemd's `LogsDirectory=`),
    /// else `/var/log` when writable, else `$XDG_STATE_HOME/<name>/` (`~/.local/state/<name>/`).
    pub fn log_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_path = Some(dir.into());
        self
    }

    /// The file name of the log; default `<name>.log`.
    pub fn log_name(mut self, file_name: impl Into<String>) -> Self {
        self.log_name = Some(file_name.into());
        self
    }

    /// The line template; default the seed's `{time} - {name} - {level} - {message}`; or
    /// `"json"` ([`JSON_LOG_FORMAT`]) for JSON lines.
    ///
    /// Fields: `{time}` (`2018-11-27 13:47:59,971`, local time), `{name}`, `{level}`,
    /// `{message}`, `{pid}`, `{target}`, `{fields}` (a record's key-values,
    /// `user=42 path="/x"`); `{{` and `}}` are literal braces. A template without `{fields}` (the
    /// default among them) appends a record's key-values at the end of the line after one space,
    /// and only when it has some. An unknown field is an [`Error::Setting`] for `log_format`.
    ///
    /// `"json"` writes one flat JSON object per line, to the file and stdout:
    /// `{"timestamp":"2026-12-01T18:53:59.193Z","level":"INFO","name":"MyDaemon","pid":4242,"target":"my_app::db","message":"login","user":42,"path":"/x"}`
    /// (UTC, milliseconds; numbers and booleans stay numbers and booleans). A field named like one
    /// of the fixed keys, or like an earlier field, is written with `_` in front (`_level`), so no
    /// key repeats and the fixed keys keep their own values.
    pub fn log_format(mut self, template: impl Into<String>) -> Self {
        self.log_format = template.into();
        self
    }

    /// Also write every line to stdout (the seed's `stream`); default off.
    ///
    /// When stdout is the journal (`$JOURNAL_STREAM`), lines carry the `<N>` priority prefix.
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Also send every line to syslog at `/dev/log` (the seed's `syslog`); default off.
    pub fn syslog(mut self, on: bool) -> Self {
        self.syslog = on;
        self
    }

    /// The syslog socket used when [`syslog`](Self::syslog) is on; default `/dev/log`.
    pub fn syslog_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.syslog_socket = path.into();
        self
    }

    /// Also send every record to the journal with journald's native protocol, on
    /// `/run/systemd/journal/socket`; default off.
    ///
    /// Each record is one journal entry with `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER` (the
    /// name), `SYSLOG_PID`, `CODE_FILE`, `CODE_LINE`, `TARGET`, and the record's own fields
    /// upper-cased (`user = 42` is `USER=42`), so `journalctl -o json-pretty` shows them. An
    /// entry too large for one datagram goes in a sealed memfd; nothing is cut. A missing socket
    /// at start is [`Error::Path`] for `journal` (exit 78); a journald that restarts or stops
    /// reading costs one warning on the other sinks, never a stop.
    ///
    /// Under systemd, use ONE path into the journal: with `journal` (or `syslog`) on and stdout
    /// being the journal stream, [`stream`](Self::stream) writes nothing (a line would be in the
    /// journal twice), and one start line says so.
    ///
    /// ```
    /// let config = simple_daemon::SimpleDaemon::new("MyDaemon").journal(true).config()?;
    /// assert!(config.journal());
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn journal(mut self, on: bool) -> Self {
        self.journal = on;
        self
    }

    /// The journald socket used when [`journal`](Self::journal) is on; default
    /// `/run/systemd/journal/socket`.
    pub fn journal_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal_socket = path.into();
        self
    }

    /// Rotate the log file before a line would make it larger than this many bytes (the seed's
    /// `max_size_byte_log`); default 1 MiB.
    pub fn max_log_size(mut self, bytes: u64) -> Self {
        self.max_log_size = bytes;
        self
    }

    /// How many rotated files are kept (`x.log.1` newest ... `x.log.N`) (the seed's
    /// `max_count_file_rotation`); default 2.
    pub fn max_log_files(mut self, count: usize) -> Self {
        self.max_log_files = count;
        self
    }

    /// Also rotate the log file at every local hour ([`RotateEvery::Hour`], `"1h"`) or at local
    /// midnight ([`RotateEvery::Day`], `"1d"`), whichever comes first with
    /// [`max_log_size`](Self::max_log_size); default none (by size only).
    ///
    /// The boundaries are read in the process's time zone: a 23 h or 25 h day (DST) rotates at
    /// its real midnight, and an hourly rotation happens on every real hour. A wall clock
    /// stepped forward rotates once (not once per hour it skipped); one stepped back rotates
    /// no hour twice. The rotation happens at the first record at or after the boundary (an
    /// empty file is never rotated); a file left by an earlier run from before the current hour
    /// (or day) is rotated at the first record. The check costs one integer comparison per
    /// record.
    ///
    /// ```
    /// use simple_daemon::{RotateEvery, SimpleDaemon};
    ///
    /// let config = SimpleDaemon::new("demo").rotate_every(RotateEvery::Day).config()?;
    /// assert_eq!(config.rotate_every(), Some(RotateEvery::Day));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn rotate_every(mut self, every: RotateEvery) -> Self {
        self.rotate_every = Some(every);
        self
    }

    /// In passive mode, how long a stop may take before it is escalated to an aggressive one;
    /// default none (wait for the tick in progress however long it takes).
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = Some(timeout);
        self
    }

    /// Buffer log lines in memory and write them on a short timer and on every exit path,
    /// for high volume; default off (one `write(2)` per line).
    pub fn buffered(mut self, on: bool) -> Self {
        self.buffered = on;
        self
    }

    /// The `WatchdogSec=` to put in the unit printed by `--print-systemd-unit`; default none.
    ///
    /// At run time the watchdog period always comes from systemd's `$WATCHDOG_USEC`.
    pub fn watchdog(mut self, period: Duration) -> Self {
        self.watchdog = Some(period);
        self
    }

    /// A tick running longer than this gets one WARN line, and the daemon reports itself
    /// unhealthy until that tick ends: `/healthz` answers 503 (feature `admin`) and the
    /// systemd watchdog is not pinged (not even by [`Context::keep_alive`](crate::Context::keep_alive)),
    /// so `WatchdogSec=` catches a tick that never ends. Default none.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = simple_daemon::SimpleDaemon::new("Poller")
    ///     .tick_timeout(Duration::from_secs(30))
    ///     .config()?;
    /// assert_eq!(config.tick_timeout(), Some(Duration::from_secs(30)));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn tick_timeout(mut self, timeout: Duration) -> Self {
        self.tick_timeout = Some(timeout);
        self
    }

    /// Serve `/healthz`, `/readyz` and `/metrics` over HTTP/1.1 on this address (feature
    /// `admin`; see [`admin`](crate::admin)); default none, no listener.
    ///
    /// The address is an IP address and a port (`"127.0.0.1:9102"`, `"[::]:9102"`, or
    /// `"0.0.0.0:9102"` in a container, where the kubelet probes the pod's address); a bad one
    /// is an [`Error::Setting`] for `admin`, and an address that cannot be bound ends the
    /// start with exit status 78.
    ///
    /// ```
    /// let config = simple_daemon::SimpleDaemon::new("Poller").admin("127.0.0.1:9102").config()?;
    /// assert_eq!(config.admin(), Some("127.0.0.1:9102".parse().unwrap()));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    #[cfg(feature = "admin")]
    pub fn admin(mut self, address: impl Into<String>) -> Self {
        self.admin = Some(address.into());
        self
    }

    /// The binary's version, printed by `--version` and in `--help` ([`main`](Self::main));
    /// default none (`--version` prints the name alone). `#[daemon]` passes the binary's
    /// package version, `env!("CARGO_PKG_VERSION")`; a builder user does the same:
    ///
    /// ```
    /// let config = simple_daemon::SimpleDaemon::new("Poller")
    ///     .version(env!("CARGO_PKG_VERSION"))
    ///     .config()?;
    /// assert_eq!(config.version(), Some(env!("CARGO_PKG_VERSION")));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// What a tick that overruns its slot does to the next start; default [`Missed::Delay`]
    /// (the next tick starts at once and the grid starts again from there).
    ///
    /// With `interval = 1s` and a tick that ran 2.5 s, [`Missed::Skip`] starts the next one
    /// at 3 s, on the original grid; see [`Missed`] for the others.
    ///
    /// ```
    /// use simple_daemon::{Missed, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// let config = SimpleDaemon::new("Poller")
    ///     .interval(Duration::from_secs(1))
    ///     .missed(Missed::Skip)
    ///     .config()?;
    /// assert_eq!(config.missed(), Missed::Skip);
    /// assert_eq!(SimpleDaemon::new("Poller").config()?.missed(), Missed::Delay);
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// A random delay in `[0, jitter)` before each start, so that a fleet started at once does
    /// not tick at once; default none.
    ///
    /// Each start is its slot (on the interval grid, at the `schedule`'s start time, or after
    /// a backoff) plus a fresh delay; the slots do not move, so the jitter never accumulates.
    /// The first tick is delayed too. A zero jitter means none.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    /// use std::time::Duration;
    ///
    /// let config = SimpleDaemon::new("Poller")
    ///     .interval(Duration::from_secs(60))
    ///     .jitter(Duration::from_secs(10)) // each tick starts 0 to 10 s after its slot
    ///     .config()?;
    /// assert_eq!(config.jitter(), Some(Duration::from_secs(10)));
    /// assert_eq!(SimpleDaemon::new("Poller").jitter(Duration::ZERO).config()?.jitter(), None);
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = (!jitter.is_zero()).then_some(jitter);
        self
    }

    /// What a tick's `Err` does; default [`OnError::Exit`] (exit status 1).
    ///
    /// With [`OnError::Continue`], the next tick runs after a backoff that starts at the
    /// interval (1 s without one, or with a `schedule`) and doubles at each consecutive error,
    /// up to [`max_backoff`](Self::max_backoff); a success resets it. Each error is logged at
    /// ERROR with the count of consecutive errors and the next attempt's time.
    ///
    /// A tick that fails twice, then succeeds: the daemon goes on (the retries come 10 ms then
    /// 20 ms after the failed ticks), and stops itself after the success:
    ///
    /// ```
    /// use simple_daemon::{Context, Daemon, Exit, OnError, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// struct Flaky { ticks: u32 }
    ///
    /// impl Daemon for Flaky {
    ///     type Error = String;
    ///     fn tick(&mut self, ctx: &Context) -> Result<(), String> {
    ///         self.ticks += 1;
    ///         if self.ticks <= 2 {
    ///             return Err(format!("upstream down (try {})", self.ticks));
    ///         }
    ///         ctx.stop(); // done: a passive stop after this tick
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let dir = std::env::temp_dir().join(format!("on-error-doc-{}", std::process::id()));
    /// let exit = SimpleDaemon::new("Flaky")
    ///     .log_path(&dir)
    ///     .interval(Duration::from_millis(10))
    ///     .on_error(OnError::Continue)
    ///     .run(Flaky { ticks: 0 });
    /// assert_eq!(exit, Exit::Stopped);
    /// let log = std::fs::read_to_string(dir.join("Flaky.log"))?;
    /// assert!(log.contains("Tick failed (1 in a row): upstream down (try 1); next attempt in 0.010s"));
    /// assert!(log.contains("Tick failed (2 in a row): upstream down (try 2); next attempt in 0.020s"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// The longest backoff of [`OnError::Continue`]; default 5 minutes.
    ///
    /// With `interval = 10s` and `max_backoff = 30s`, consecutive errors wait 10 s, 20 s, 30 s,
    /// 30 s, ...
    ///
    /// ```
    /// use simple_daemon::{OnError, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// let config = SimpleDaemon::new("Poller")
    ///     .interval(Duration::from_secs(10))
    ///     .on_error(OnError::Continue)
    ///     .max_backoff(Duration::from_secs(30))
    ///     .config()?;
    /// assert_eq!(config.max_backoff(), Duration::from_secs(30));
    /// assert_eq!(SimpleDaemon::new("Poller").config()?.max_backoff(), Duration::from_secs(300));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// With [`OnError::Continue`], end the daemon with exit status 1 after this many
    /// consecutive errors; default none (retry for ever).
    ///
    /// A tick that always fails, with `max_failures = 3`: the third error ends the run.
    ///
    /// ```
    /// use simple_daemon::{Context, Daemon, Exit, OnError, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// struct Down { ticks: u32 }
    ///
    /// impl Daemon for Down {
    ///     type Error = &'static str;
    ///     fn tick(&mut self, _ctx: &Context) -> Result<(), &'static str> {
    ///         self.ticks += 1;
    ///         Err("upstream down")
    ///     }
    /// }
    ///
    /// let dir = std::env::temp_dir().join(format!("max-failures-doc-{}", std::process::id()));
    /// let exit = SimpleDaemon::new("Down")
    ///     .log_path(&dir)
    ///     .on_error(OnError::Continue)
    ///     .max_backoff(Duration::from_millis(5))
    ///     .max_failures(3)
    ///     .run(Down { ticks: 0 });
    /// assert_eq!(exit, Exit::Failed);
    /// let log = std::fs::read_to_string(dir.join("Down.log"))?;
    /// assert!(log.contains("Tick failed (3 in a row, max_failures = 3): upstream down"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_failures(mut self, count: u32) -> Self {
        self.max_failures = Some(count);
        self
    }

    /// Check every setting and return the validated configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first setting whose value cannot work.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    ///
    /// let err = SimpleDaemon::new("demo").max_log_files(0).config().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid max_log_files \"0\": must be at least 1 (the number of rotated files kept)"
    /// );
    /// ```
    pub fn config(&self) -> Result<Config, Error> {
        file::resolve(self)
    }

    /// The checks of [`config`](Self::config) on this builder's own values (no file).
    pub(crate) fn check(&self) -> Result<Config, Error> {
        check_name(&self.name)?;
        let log_name = match &self.log_name {
            Some(n) => {
                check_file_name(n)?;
                n.clone()
            }
            None => format!("{}.log", self.name),
        };
        let template = Template::parse(&self.log_format)
            .map_err(|reason| Error::setting("log_format", &self.log_format, reason))?;
        let (directives, from_rust_log) = match std::env::var_os(RUST_LOG) {
            // Empty or blank is unset, as env_logger and tracing-subscriber read it.
            Some(v) if !v.to_string_lossy().trim().is_empty() => match v.into_string() {
                Ok(v) => (v, true),
                Err(v) => {
                    return Err(Error::setting(
                        "RUST_LOG",
                        v.to_string_lossy(),
                        "is not valid UTF-8",
                    ))
                }
            },
            _ => (self.level.as_str().to_owned(), false),
        };
        let filter = Filter::parse(&directives).map_err(|reason| {
            Error::setting(
                if from_rust_log { "RUST_LOG" } else { "level" },
                &directives,
                reason,
            )
        })?;
        if self.max_log_size == 0 {
            return Err(Error::setting("max_log_size", "0", "must be at least 1 byte"));
        }
        if self.max_log_files == 0 {
            return Err(Error::setting(
                "max_log_files",
                "0",
                "must be at least 1 (the number of rotated files kept)",
            ));
        }
        if let Some(t) = self.stop_timeout {
            if t.is_zero() {
                return Err(Error::setting(
                    "stop_timeout",
                    "0s",
                    "must be greater than zero (for a stop at once use mode \"aggressive\")",
                ));
            }
        }
        if let Some(w) = self.watchdog {
            if w < Duration::from_millis(2) {
                return Err(Error::setting(
                    "watchdog",
                    format!("{w:?}"),
                    "must be at least 2ms",
                ));
            }
        }
        if let Some(n) = self.runtime.worker_threads {
            if n == 0 {
                return Err(Error::setting("worker_threads", "0", "must be at least 1"));
            }
            if self.runtime.current_thread {
                return Err(Error::setting(
                    "worker_threads",
                    n.to_string(),
                    "has no effect with flavor \"current_thread\", which runs everything on the \
                     daemon's own thread; remove it, or use flavor \"multi_thread\"",
                ));
            }
        }
        if self.tick_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::setting(
                "tick_timeout",
                "0s",
                "must be greater than zero (leave it out for none)",
            ));
        }
        let admin = match &self.admin {
            None => None,
            Some(a) => Some(a.parse::<std::net::SocketAddr>().map_err(|_| {
                Error::setting(
                    "admin",
                    a,
                    "must be an IP address and a port, like \"127.0.0.1:9102\" or \"[::]:9102\"",
                )
            })?),
        };
        if self.log_path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(Error::setting("log_path", "", "must not be empty"));
        }
        if self.max_backoff.is_zero() {
            return Err(Error::setting("max_backoff", "0s", "must be greater than zero"));
        }
        if self.max_failures == Some(0) {
            return Err(Error::setting(
                "max_failures",
                "0",
                "must be at least 1 (the number of consecutive errors that end the daemon)",
            ));
        }
        if self.on_error == OnError::Exit {
            if let Some(n) = self.max_failures {
                return Err(Error::setting(
                    "max_failures",
                    n.to_string(),
                    "needs on_error = \"continue\" (with on_error = \"exit\" the first error ends the daemon)",
                ));
            }
        }
        let calendar =
            schedule::from_builder(self.schedule.as_deref(), self.timezone.as_deref(), self.interval)?;
        Ok(Config {
            name: self.name.clone(),
            mode: self.mode,
            interval: self.interval,
            filter,
            directives: directives.trim().to_owned(),
            from_rust_log,
            log_path: self.log_path.clone(),
            log_name,
            template,
            stream: self.stream,
            syslog: self.syslog,
            syslog_socket: self.syslog_socket.clone(),
            journal: self.journal,
            journal_socket: self.journal_socket.clone(),
            max_log_size: self.max_log_size,
            max_log_files: self.max_log_files,
            rotate_every: self.rotate_every,
            compress: self.compress,
            stop_timeout: self.stop_timeout,
            buffered: self.buffered,
            watchdog: self.watchdog,
            tick_timeout: self.tick_timeout,
            admin,
            version: self.version.clone(),
            runtime: self.runtime,
            missed: self.missed,
            jitter: self.jitter,
            on_error: self.on_error,
            max_backoff: self.max_backoff,
            max_failures: self.max_failures,
            calendar,
            operator: Operator::default(),
        })
    }
}

impl Config {
    /// The daemon's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The stop mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The tick interval, if any.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }
    /// The most verbose level the directives let through (what `log::max_level` is set to).
    pub fn level(&self) -> LevelFilter {
        self.filter.max()
    }
    /// The filter directives in force: `RUST_LOG`'s when it was set, else
    /// [`SimpleDaemon::level`]'s.
    pub fn directives(&self) -> &str {
        &self.directives
    }
    /// Whether the directives came from `RUST_LOG`.
    pub fn directives_from_rust_log(&self) -> bool {
        self.from_rust_log
    }
    /// Whether lines are JSON (`log_format = "json"`).
    pub fn json(&self) -> bool {
        self.template.is_json()
    }
    /// The log file name.
    pub fn log_name(&self) -> &str {
        &self.log_name
    }
    /// Whether records go to the journal's native socket ([`SimpleDaemon::journal`]).
    pub fn journal(&self) -> bool {
        self.journal
    }
    /// The rotation size limit in bytes.
    pub fn max_log_size(&self) -> u64 {
        self.max_log_size
    }
    /// The number of rotated files kept.
    pub fn max_log_files(&self) -> usize {
        self.max_log_files
    }
    /// The rotation by time, if any ([`SimpleDaemon::rotate_every`]).
    pub fn rotate_every(&self) -> Option<RotateEvery> {
        self.rotate_every
    }
    /// Whether rotated files are gzipped (feature `compress`).
    pub fn compress(&self) -> bool {
        self.compress
    }
    /// The passive stop timeout, if any.
    pub fn stop_timeout(&self) -> Option<Duration> {
        self.stop_timeout
    }
    /// How long a tick may run before the daemon reports itself unhealthy, if at all.
    pub fn tick_timeout(&self) -> Option<Duration> {
        self.tick_timeout
    }

    /// The address of the admin listener (feature `admin`), if any.
    pub fn admin(&self) -> Option<std::net::SocketAddr> {
        self.admin
    }

    /// The watchdog period for a printed unit, if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }
    /// What an overrun tick does to the next start.
    pub fn missed(&self) -> Missed {
        self.missed
    }
    /// The jitter before each start, if any.
    pub fn jitter(&self) -> Option<Duration> {
        self.jitter
    }
    /// What a tick's `Err` does.
    pub fn on_error(&self) -> OnError {
        self.on_error
    }
    /// The longest backoff of [`OnError::Continue`].
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }
    /// The consecutive errors that end the daemon, if limited.
    pub fn max_failures(&self) -> Option<u32> {
        self.max_failures
    }
    /// The binary's version, if one was given ([`SimpleDaemon::version`]).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// The operator's configuration file this configuration was read from, if any (feature
    /// `config`: `--config PATH`, or the `config` key's file when it exists).
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.operator.file.as_deref()
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    let bad = name.is_empty()
        || name.len() > 64
        || name
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control() || c == '[' || c == ':');
    if bad {
        return Err(Error::setting(
            "name",
            name,
            "must be 1 to 64 characters without '/', ':', '[', spaces or control characters",
        ));
    }
    Ok(())
}

fn check_file_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::setting(
            "log_name",
            name,
            "must be a plain file name, without '/'",
        ));
    }
    Ok(())
}
