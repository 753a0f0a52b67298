//! The crate's error type and the process exit statuses.
//!
//! Every way start-up can fail is one [`Error`] variant whose `Display` is one sentence naming the
//! setting and the value or path at fault. [`Exit`] is what a daemon run ends with; it maps to the
//! documented exit statuses and can be returned from `main`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Termination};

/// The program's name as invoked (argv\[0\]'s file name), for messages.
pub(crate) fn program() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "simple-daemon".to_owned())
}

/// Exit status for a stop a signal asked for (also an escalated one).
pub const EXIT_OK: u8 = 0;
/// Exit status for a tick error, or `new()` failing.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for a command-line usage error (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit status for a configuration that cannot work (`EX_CONFIG`).
pub const EXIT_CONFIG: u8 = 78;
/// Exit status after a panic in user code (Rust's own panic status).
pub const EXIT_PANIC: u8 = 101;

/// Why a daemon could not start.
///
/// Each variant's `Display` is one sentence that names the setting and the value or path, as it
/// is printed on stderr before the process exits with [`EXIT_CONFIG`] (78). `Debug` prints the
/// same sentence, so `fn main() -> Result<(), Error>` shows `Error: <sentence>` (with exit
/// status 1, Rust's for an `Err` from `main`); for the documented 78, end `main` with
/// [`Error::report`] (see [`SimpleDaemon::start`](crate::SimpleDaemon::start)).
///
/// ```
/// use simple_daemon::{Error, SimpleDaemon};
///
/// let err = SimpleDaemon::new("demo").log_format("{time} {lvl}").config().unwrap_err();
/// assert!(matches!(err, Error::Setting { setting: "log_format", .. }));
/// assert_eq!(err.exit_code(), 78);
/// assert_eq!(format!("{err:?}"), err.to_string());
/// assert!(err.to_string().starts_with("invalid log_format \"{time} {lvl}\": unknown field {lvl}"));
/// ```
#[non_exhaustive]
pub enum Error {
    /// A setting has a value that cannot work.
    Setting {
        /// The key, named as in the attribute (`log_format`, `max_log_size`, ...).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A path the configuration names cannot be used (log directory, log file, syslog socket).
    Path {
        /// The key the path comes from (`log_path`, `log_name`, `syslog`).
        setting: &'static str,
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The operating system's error ([`std::io::Error`]), when there is one.
        source: Option<io::Error>,
    },
    /// The signal handlers could not be installed.
    Signals(io::Error),
    /// A daemon has already been started in this process. A process runs one daemon in its
    /// life, even after the first one's [`Running`](crate::Running) guard was dropped: the
    /// logger and the signal handling are process-wide and installed once.
    AlreadyStarted,
    /// Another `log` logger (env_logger, tracing-log, ...) was installed in this process before
    /// the daemon started. The daemon's logger must be the process's: log through
    /// `simple_daemon::log` and leave the logger to the daemon. Nothing was created on disk and
    /// no signal handler was installed.
    LoggerInstalled,
    /// The tokio runtime of an async daemon could not be built (feature `tokio`): its threads
    /// could not be spawned.
    Runtime(io::Error),
    /// With the `tracing` feature: another `tracing` subscriber was made the process's global
    /// one before the daemon started. The daemon's bridge must be it (so `tracing` events reach
    /// the daemon's sinks): do not call `tracing_subscriber`'s `init` or `set_global_default`
    /// yourself. Nothing was created on disk and no signal handler was installed.
    SubscriberInstalled,
    /// The operator's configuration file (feature `config`) has a mistake: TOML syntax, an
    /// unknown key, a bad value, or a `[settings]` table that does not fit the daemon's type.
    ///
    /// ```
    /// let err = simple_daemon::Error::File {
    ///     path: "/etc/poller.toml".into(),
    ///     line: 3,
    ///     column: 9,
    ///     message: "invalid interval: duration \"5\" has no unit".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "configuration file \"/etc/poller.toml\", line 3, column 9: invalid interval: duration \"5\" has no unit"
    /// );
    /// ```
    File {
        /// The file.
        path: PathBuf,
        /// The line of the mistake, from 1.
        line: usize,
        /// The column of the mistake (in characters), from 1.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// The admin listener (feature `admin`) could not listen on its address, or its thread
    /// could not be spawned.
    Admin {
        /// The `admin` address.
        address: std::net::SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
}

impl Error {
    /// The exit status this error ends the process with: 78 (`EX_CONFIG`) for every variant.
    ///
    /// ```
    /// assert_eq!(simple_daemon::Error::AlreadyStarted.exit_code(), 78);
    /// assert_eq!(simple_daemon::Error::LoggerInstalled.exit_code(), 78);
    /// ```
    pub fn exit_code(&self) -> u8 {
        EXIT_CONFIG
    }

    /// Print this error on stderr as the daemon's own start-up does (`<program>: <sentence>`,
    /// one line) and give [`Exit::Config`] (status 78): how a hand-written `main` ends on an
    /// error from [`SimpleDaemon::start`](crate::SimpleDaemon::start).
    ///
    /// ```
    /// use simple_daemon::{Exit, SimpleDaemon};
    ///
    /// let err = SimpleDaemon::new("bad name").start().unwrap_err();
    /// assert_eq!(err.report(), Exit::Config); // stderr: `<program>: invalid name "bad name": ...`
    /// ```
    pub fn report(&self) -> Exit {
        eprintln!("{}: {self}", program());
        Exit::Config
    }

    pub(crate) fn setting(
        setting: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Setting {
            setting,
            value: value.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn path(
        setting: &'static str,
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
        source: Option<io::Error>,
    ) -> Self {
        Error::Path {
            setting,
            path: path.into(),
            reason: reason.into(),
            source,
        }
    }
}

/// The sentence, as `Display` gives it: what `main` returning `Err` prints.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setting {
                setting,
                value,
                reason,
            } => {
                write!(f, "invalid {setting} {value:?}: {reason}")
            }
            Error::Path {
                setting,
                path,
                reason,
                source,
            } => {
                write!(f, "{setting} {:?} {reason}", path.display().to_string())?;
                match source {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            Error::Signals(e) => write!(f, "cannot install the SIGINT/SIGTERM/SIGHUP handlers: {e}"),
            Error::AlreadyStarted => f.write_str(
                "a daemon was already started in this process, and a process runs one daemon in its life (even after its guard was dropped)",
            ),
            Error::Runtime(e) => write!(f, "cannot build the tokio runtime (flavor, worker_threads): {e}"),
            Error::SubscriberInstalled => f.write_str(
                "another `tracing` subscriber is already the process's global one: with the `tracing` feature the daemon installs its own, so that events reach its sinks; do not call tracing_subscriber's init or set_global_default yourself",
            ),
            Error::Admin { address, source } => {
                write!(f, "admin cannot listen on {address}: {source}")
            }
            Error::File {
                path,
                line,
                column,
                message,
            } => write!(
                f,
                "configuration file {:?}, line {line}, column {column}: {message}",
                path.display().to_string()
            ),
            Error::LoggerInstalled => f.write_str(
                "another `log` logger (env_logger, tracing-log, ...) is already installed in this process: the daemon must own the process's logger, so log through `simple_daemon::log` and do not install one yourself",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Path { source: Some(e), .. }
            | Error::Signals(e)
            | Error::Runtime(e)
            | Error::Admin { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// How a daemon run ended; return it from `main` to exit with the documented status.
///
/// | variant | status | when |
/// |---|---|---|
/// | [`Exit::Stopped`] | 0 | a SIGINT/SIGTERM asked for the stop (escalated stops too) |
/// | [`Exit::Failed`] | 1 | `tick` returned `Err`, or building the state failed |
/// | [`Exit::Usage`] | 64 | a command-line argument the binary does not know |
/// | [`Exit::Config`] | 78 | a configuration that cannot work |
/// | [`Exit::Panicked`] | 101 | user code panicked (message and location were logged) |
///
/// An aggressive stop never returns an `Exit`: the process ends from the signal thread with
/// status 0 (see [`Mode::Aggressive`](crate::Mode::Aggressive)).
///
/// ```
/// use simple_daemon::Exit;
///
/// assert_eq!(Exit::Stopped.code(), 0);
/// assert_eq!(Exit::Config.code(), 78);
/// fn main() -> Exit {
///     Exit::Stopped
/// }
/// # let _ = main();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Stopped on request: status 0.
    Stopped,
    /// A tick error or a failed start of the user's state: status 1.
    Failed,
    /// A command-line usage error: status 64.
    Usage,
    /// A configuration that cannot work: status 78.
    Config,
    /// A panic in user code: status 101.
    Panicked,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Stopped => EXIT_OK,
            Exit::Failed => EXIT_FAILURE,
            Exit::Usage => EXIT_USAGE,
            Exit::Config => EXIT_CONFIG,
            Exit::Panicked => EXIT_PANIC,
        }
    }
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

impl From<Error> for Exit {
    fn from(_: Error) -> Self {
        Exit::Config
    }
}
