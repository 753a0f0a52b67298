//! Turn a periodic `fn tick(&mut self)` into a well-behaved Linux/systemd service.
//!
//! `simple-daemon` is the Rust heir of the Python `simple_daemon` module: signal handling
//! (SIGINT, SIGTERM, SIGHUP), logging to a rotating file, stdout and syslog in the seed's format,
//! the seed's two stop modes ([`Mode::Passive`], [`Mode::Aggressive`]), a fixed-rate loop, and
//! the systemd notification protocol.
//!
//! Everything that happens at run time lives in this crate and works without the macro: a
//! builder, [`SimpleDaemon`], that ends in [`SimpleDaemon::start`] (a guard for a hand-written
//! loop) or [`SimpleDaemon::run`] (a value implementing [`Daemon`]).
//!
//! ```no_run
//! use simple_daemon::{Context, Daemon, Exit, Mode, SimpleDaemon};
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Worker {
//!     beats: u64,
//! }
//!
//! impl Daemon for Worker {
//!     type Error = Infallible;
//!     fn tick(&mut self, _ctx: &Context) -> Result<(), Infallible> {
//!         self.beats += 1;
//!         simple_daemon::log::info!("beat {}", self.beats);
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> Exit {
//!     SimpleDaemon::new("MyDaemon")
//!         .mode(Mode::Aggressive)
//!         .interval(Duration::from_secs(60))
//!         .stream(true) // on stdout too, not only in the log file
//!         .run(Worker::default())
//! }
//! ```
//!
//! # Async daemons (feature `tokio`)
//!
//! With `features = ["tokio"]`, `AsyncDaemon` is the async counterpart of [`Daemon`] (its
//! methods are `async fn`), run by `SimpleDaemon::run_tokio` (which builds the runtime:
//! `flavor`, `worker_threads`) or awaited with `SimpleDaemon::run_async` inside a runtime the
//! program already has; `#[daemon]` accepts `async fn` for `new`, `tick`, `on_stop` and
//! `on_reload`. The [`Context`] adds `stopped()`, `token()` and `sleep_async()`. What runs on each
//! stop:
//!
//! - **passive** (first signal): the tick future runs to its end, the sleep between ticks ends at
//!   once, `on_stop` is awaited, the state is dropped; tasks the daemon spawned get the rest of
//!   `TASKS_WAIT` (250 ms) to end, then are dropped at their next `.await`; `spawn_blocking`
//!   work is abandoned; `Graceful Interrupt...`; exit 0;
//! - **aggressive, or escalated** (second signal, `stop_timeout`): the tick future is cancelled
//!   at its next `.await` (dropped: its locals' destructors run), then the state is dropped;
//!   `on_stop` does not run; the tasks are dropped at their next `.await`; `Received <n>
//!   signal.`, `Graceful Interrupt...`, exit 0 within milliseconds;
//! - **aggressive, the tick's thread blocked outside an `.await`**: after 500 ms the process ends
//!   as a sync aggressive stop does (`_exit`, nothing dropped), after a WARN line saying the
//!   tick could not be cancelled; exit 0.
//!
//! A tick `Err` exits 1, a panic in the tick 101; a panic in a task the daemon spawned is logged
//! at ERROR with its location and the daemon goes on.
//!
//! # The daemon owns the process's logger
//!
//! Starting a daemon installs the process's one `log` logger: log through
//! [`simple_daemon::log`](https://docs.rs/log/0.4/log/) (`simple_daemon::log::info!`), and every library that logs with
//! `log` reaches the same sinks. Do not install another logger: `env_logger::init()` before the
//! start makes it fail with [`Error::LoggerInstalled`] (exit 78, nothing created on disk), and
//! `env_logger::init()` after it (in `new()`, say) panics inside env_logger, which this crate
//! cannot catch. For `tracing` (your code's events and your libraries'), turn on this crate's
//! `tracing` feature: the daemon then installs the process's `tracing` subscriber too, and each
//! event reaches the same sinks in the same format, under the same directives, with its span
//! fields; another subscriber installed first is [`Error::SubscriberInstalled`] (exit 78).
//! Without the feature, tracing's own `log` feature turns its events into `log` records.
//!
//! # Structured logging
//!
//! - [`level`](SimpleDaemon::level) takes a level or filter directives (env_logger / `tracing`
//!   `EnvFilter` syntax): `"info,hyper=warn,my_app::db=trace"`; `RUST_LOG`, when set and not
//!   empty at start, replaces it (the start lines say `Log level: ... (from RUST_LOG)`), and an
//!   invalid one is exit 78. The daemon's lifecycle lines (target `simple_daemon`) are logged at
//!   `info` at least whatever the default level; only `simple_daemon=<level>` filters them.
//! - `log`'s key-values reach every sink: `simple_daemon::log::info!(user = 42, path = "/x";
//!   "login")` is `... - INFO - login user=42 path="/x"` in the default format, `{fields}` places
//!   them in a template.
//! - [`log_format("json")`](SimpleDaemon::log_format) ([`JSON_LOG_FORMAT`]) writes one JSON
//!   object per line, with typed fields.
//!
//! ```
//! use simple_daemon::{SimpleDaemon, JSON_LOG_FORMAT};
//!
//! # std::env::remove_var("RUST_LOG");
//! let config = SimpleDaemon::new("MyDaemon")
//!     .level("info,hyper=warn,my_app::db=trace")
//!     .log_format(JSON_LOG_FORMAT)
//!     .config()?;
//! assert!(config.json());
//! assert_eq!(config.directives(), "info,hyper=warn,my_app::db=trace");
//! # Ok::<(), simple_daemon::Error>(())
//! ```
//!
//! # Testing
//!
//! One daemon per process: a second [`SimpleDaemon::start`] or [`SimpleDaemon::run`] fails with
//! [`Error::AlreadyStarted`], even after the first guard was dropped, so a test binary cannot
//! start one daemon per test. Test in two layers instead:
//!
//! - **`tick` alone**, as a plain method call, with a [`Context::detached`]: it belongs to no
//!   running daemon, installs nothing (no logger, no signal handler), is never interrupted, and
//!   its `status` goes nowhere.
//!
//!   ```
//!   use simple_daemon::{Context, Daemon};
//!   use std::convert::Infallible;
//!
//!   #[derive(Default)]
//!   struct Poller { seen: u64 }
//!
//!   impl Daemon for Poller {
//!       type Error = Infallible;
//!       fn tick(&mut self, ctx: &Context) -> Result<(), Infallible> {
//!           self.seen += 1;
//!           ctx.status(&format!("{} polls", self.seen));
//!           Ok(())
//!       }
//!   }
//!
//!   // in a #[test]:
//!   let ctx = Context::detached("Poller");
//!   let mut p = Poller::default();
//!   p.tick(&ctx).unwrap();
//!   p.tick(&ctx).unwrap();
//!   assert_eq!(p.seen, 2);
//!   ```
//!
//! - **The running daemon, end to end**, as a process of its own: an integration test
//!   (`tests/*.rs`) spawns the package's binary, whose path Cargo gives in
//!   `env!("CARGO_BIN_EXE_<name>")`, with `LOGS_DIRECTORY` set to a directory of the test (the
//!   log file goes there, as under systemd's `LogsDirectory=`), waits for `Mode: <MODE>` in the
//!   log, sends a real SIGTERM (`kill -TERM <pid>`) or SIGHUP, waits for the exit status, and
//!   reads the log (`Received 15 signal.`, `Graceful Interrupt...`). The README's "Testing a
//!   daemon" has the whole test.
//!
//! # A daemon whose type lives in a library
//!
//! `#[daemon]` needs its type in the binary crate. To keep the type in a library, where `tests/`
//! and other binaries can use it, implement [`Daemon`] there and give the binary a one-line
//! `main` with [`SimpleDaemon::main`]: the same command line (`--help`, `--version`,
//! `--print-systemd-unit`) and the same run as the attribute's `main`.
//!
//! ```no_run
//! // src/lib.rs (the crate `mylib`)
//! # mod mylib {
//! use simple_daemon::{Context, Daemon};
//!
//! pub struct Poller {
//!     polls: u64,
//! }
//!
//! impl Poller {
//!     pub fn new() -> std::io::Result<Poller> {
//!         Ok(Poller { polls: 0 })
//!     }
//! }
//!
//! impl Daemon for Poller {
//!     type Error = std::io::Error;
//!     fn tick(&mut self, _ctx: &Context) -> std::io::Result<()> {
//!         self.polls += 1;
//!         simple_daemon::log::info!("poll {}", self.polls);
//!         Ok(())
//!     }
//! }
//! # }
//!
//! // src/main.rs
//! use simple_daemon::{Exit, SimpleDaemon};
//! use std::time::Duration;
//!
//! fn main() -> Exit {
//!     SimpleDaemon::new("Poller")
//!         .version(env!("CARGO_PKG_VERSION"))
//!         .interval(Duration::from_secs(30))
//!         .main(mylib::Poller::new)
//! }
//! ```
//!
//! A test of the library then drives `tick` itself with [`Context::detached`], or spawns the
//! built binary (`env!("CARGO_BIN_EXE_<name>")`) and signals it.
//!
//! # Exit statuses
//!
//! See [`Exit`]: 0 for a stop a signal asked for (escalated ones too), 1 for a tick error or a
//! failed start of the state, 64 for a usage error, 78 for a configuration that cannot work
//! (one sentence on stderr naming the setting), 101 after a panic (logged first).
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "macros")]
#[doc(inline)]
pub use simple_daemon_macros::daemon;

#[cfg(feature = "admin")]
pub mod admin;
mod cli;
mod config;
mod context;
mod drive;
mod error;
mod health;
mod lifecycle;
mod logging;
mod notify;
mod pid1;
mod print;
mod schedule;
mod signals;

#[cfg(feature = "config")]
pub use config::reloaded_settings;
pub use config::{
    Config, Directives, Mode, ParseRotateEveryError, RotateEvery, SimpleDaemon, DEFAULT_LOG_FORMAT,
    DEFAULT_MAX_LOG_FILES, DEFAULT_MAX_LOG_SIZE, JSON_LOG_FORMAT, RUST_LOG,
};
pub use context::Context;
#[cfg(feature = "tokio")]
pub use drive::tokio::{AsyncDaemon, Flavor, TASKS_WAIT};
pub use drive::Running;
pub use error::{Error, Exit, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_PANIC, EXIT_USAGE};
pub use print::STOP_TIMEOUT_MARGIN;
pub use schedule::{Missed, OnError, DEFAULT_MAX_BACKOFF};

/// The `log` crate, re-exported so a daemon depends on one crate: `simple_daemon::log::info!`.
pub use log;

/// A daemon's periodic work and its hooks: what [`SimpleDaemon::run`] runs.
///
/// `tick` is called back to back, or at the fixed rate of
/// [`interval`](SimpleDaemon::interval). `on_stop` runs after a passive stop (never after an
/// aggressive one), `on_reload` on SIGHUP, between ticks.
///
/// ```
/// use simple_daemon::{Context, Daemon};
///
/// struct Counter(u32);
///
/// impl Daemon for Counter {
///     type Error = String;
///     fn tick(&mut self, _ctx: &Context) -> Result<(), String> {
///         self.0 += 1;
///         if self.0 > 3 { Err(format!("too many: {}", self.0)) } else { Ok(()) }
///     }
/// }
///
/// let ctx = Context::detached("counter");
/// let mut c = Counter(0);
/// for _ in 0..3 {
///     c.tick(&ctx).unwrap();
/// }
/// assert_eq!(c.tick(&ctx).unwrap_err(), "too many: 4");
/// ```
pub trait Daemon {
    /// What a failing tick returns; it is logged at ERROR and the daemon exits with status 1.
    type Error: std::fmt::Display;

    /// One pass of the work.
    ///
    /// # Errors
    ///
    /// An `Err` ends the daemon: it is logged at ERROR and the process exits with status 1.
    fn tick(&mut self, ctx: &Context) -> Result<(), Self::Error>;

    /// Called once after a passive stop, before `Graceful Interrupt...` is logged.
    fn on_stop(&mut self) {}

    /// Called on SIGHUP, between ticks, after the log file was re-opened.
    fn on_reload(&mut self) {}
}

/// Used by the code `#[daemon]` generates. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "config")]
    pub use crate::config::reloaded_settings;
    pub use crate::config::{Mode, RotateEvery, SimpleDaemon};
    pub use crate::context::Context;
    #[cfg(feature = "tokio")]
    pub use crate::drive::tokio::{AsyncDaemon, Flavor, FnAsyncDaemon, IntoResult};
    pub use crate::error::Exit;
    pub use crate::schedule::{bookkeeping_cost, Missed, OnError};
    pub use crate::Daemon;
    pub use log::LevelFilter;

    /// The return types a `tick` may have: `()` or `Result<(), E: Display>`.
    #[diagnostic::on_unimplemented(
        message = "`tick` must return `()` or `Result<(), E>` where `E: Display`, not `{Self}`",
        label = "a tick returns `()` or `Result<(), E>`"
    )]
    pub trait TickReturn {
        /// The error type.
        type Error: std::fmt::Display;
        /// As a `Result`.
        fn into_result(self) -> Result<(), Self::Error>;
    }

    impl TickReturn for () {
        type Error = std::convert::Infallible;
        #[inline]
        fn into_result(self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    impl<E: std::fmt::Display> TickReturn for Result<(), E> {
        type Error = E;
        #[inline]
        fn into_result(self) -> Result<(), E> {
            self
        }
    }

    /// The daemon of a free `fn tick()` (no state): each tick calls the function.
    pub struct FnDaemon<F>(pub F);

    impl<F, R> Daemon for FnDaemon<F>
    where
        F: FnMut(&Context) -> R,
        R: TickReturn,
    {
        type Error = R::Error;
        #[inline]
        fn tick(&mut self, ctx: &Context) -> Result<(), R::Error> {
            (self.0)(ctx).into_result()
        }
    }

    /// The return types a `new` may have: `Self` or `Result<Self, E: Display>`, under any name
    /// (an alias such as `io::Result<Self>` or a crate's own `Result<Self>`): the type system
    /// decides, not the macro's reading of the tokens.
    #[diagnostic::on_unimplemented(
        message = "`new` must return `Self` or `Result<Self, E>` where `E: Display`, not `{Self}`",
        label = "`new` returns `Self` or `Result<Self, E>`"
    )]
    pub trait NewReturn<S> {
        /// The error type.
        type Error: std::fmt::Display;
        /// As a `Result`.
        fn into_result(self) -> Result<S, Self::Error>;
    }

    impl<S> NewReturn<S> for S {
        type Error = std::convert::Infallible;
        #[inline]
        fn into_result(self) -> Result<S, Self::Error> {
            Ok(self)
        }
    }

    impl<S, E: std::fmt::Display> NewReturn<S> for Result<S, E> {
        type Error = E;
        #[inline]
        fn into_result(self) -> Result<S, E> {
            self
        }
    }

    /// What `new` returned, as the `Result` that `run_with`'s `init` returns. The error is
    /// boxed so that `init`'s type holds whatever `new` returns: a wrong return type is one
    /// error, here, and not a second one where `main` is called.
    #[inline]
    pub fn new_state<'e, S, R>(returned: R) -> Result<S, Box<dyn std::fmt::Display + 'e>>
    where
        R: NewReturn<S>,
        R::Error: 'e,
    {
        returned.into_result().map_err(|e| Box::new(e) as _)
    }

    /// The state of an impl block without `new`: `Default`. The message says what the macro
    /// cannot see: a `new` in another impl block.
    #[diagnostic::on_unimplemented(
        message = "`#[daemon]` builds the state with `new` from this impl block, else `Default`; \
                   `{Self}` has neither here (a `new` in another impl block is not seen)",
        label = "no `fn new` in this impl block, and no `Default` for `{Self}`",
        note = "add `fn new() -> Self` (or `-> Result<Self, E>`) to this impl block, or implement \
                `Default` for `{Self}`"
    )]
    pub trait DefaultState: Sized {
        /// `Default::default()`.
        fn default_state() -> Self;
    }

    impl<S: Default> DefaultState for S {
        #[inline]
        fn default_state() -> Self {
            S::default()
        }
    }

    /// The `init` of a state built by [`DefaultState`].
    #[inline]
    pub fn default_state<S: DefaultState>() -> Result<S, std::convert::Infallible> {
        Ok(S::default_state())
    }
}
