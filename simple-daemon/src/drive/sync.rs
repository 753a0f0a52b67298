//! The sync driver: [`SimpleDaemon::run`] and [`SimpleDaemon::run_with`], the tick loop at a
//! fixed rate over the [`lifecycle`](crate::lifecycle).
//!
//! When each tick starts is the [`schedule`](crate::schedule)'s answer (the interval grid, the
//! calendar, `missed`, `jitter`, the backoff of `on_error = "continue"`); this loop sleeps until
//! then, interruptibly.
//!
//! Promises: the state is built after the lifecycle's start lines and before `READY=1`; ticks
//! never overlap `on_reload`, and `READY=1` follows the reload's end (`RELOADING=1` went out
//! when the SIGHUP arrived); the watchdog is pinged after each tick and during the sleep
//! between ticks (a tick can add its own pings, `Context::keep_alive`); a passive stop lets the tick in progress end, cuts the sleep
//! between ticks short at once, runs `on_stop` and logs `Graceful Interrupt...`; a tick error or
//! a panic is logged at ERROR and every sink flushed before `run` returns.

use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::config::Reload;
use crate::config::{Config, SimpleDaemon};
use crate::context::{Context, Shared, Wake, RELOAD, STOP};
use crate::error::Exit;
use crate::lifecycle::{begin, built, config_failure, finish_run, tick_failed};
use crate::schedule::{Failure, Schedule, Wait};

/// The configuration in force and the schedule made from it, which a reload may replace.
pub(crate) struct Now<'a> {
    pub(crate) config: &'a mut Config,
    pub(crate) schedule: &'a mut Schedule,
    pub(crate) wait: &'a mut Wait,
}
use crate::Daemon;

impl SimpleDaemon {
    /// Run `daemon` until a stop, and return how it ended (see [`Exit`](crate::Exit)).
    ///
    /// A configuration error is printed on stderr and returned as [`Exit::Config`](crate::Exit).
    ///
    /// ```no_run
    /// use simple_daemon::{Context, Daemon, SimpleDaemon};
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// #[derive(Default)]
    /// struct Worker { beats: u64 }
    ///
    /// impl Daemon for Worker {
    ///     type Error = Infallible;
    ///     fn tick(&mut self, _ctx: &Context) -> Result<(), Infallible> {
    ///         self.beats += 1;
    ///         simple_daemon::log::info!("beat {}", self.beats);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// fn main() -> simple_daemon::Exit {
    ///     SimpleDaemon::new("MyDaemon").interval(Duration::from_secs(60)).run(Worker::default())
    /// }
    /// ```
    pub fn run<D: Daemon>(&self, daemon: D) -> Exit {
        self.run_with(|| Ok::<D, std::convert::Infallible>(daemon))
    }

    /// Like [`run`](Self::run), building the state after logging is up and before `READY=1`;
    /// an `Err` from `init` is logged at ERROR and ends the run with [`Exit::Failed`](crate::Exit).
    pub fn run_with<D, E, F>(&self, init: F) -> Exit
    where
        D: Daemon,
        E: std::fmt::Display,
        F: FnOnce() -> Result<D, E>,
    {
        match self.config() {
            Ok(config) => run(config, init),
            Err(e) => config_failure(&e),
        }
    }
}

/// Run a daemon to completion: what [`SimpleDaemon::run`] and the macro's `main` call.
fn run<D, E, F>(config: Config, init: F) -> Exit
where
    D: Daemon,
    E: Display,
    F: FnOnce() -> Result<D, E>,
{
    let (shared, ctx) = match begin(&config, false) {
        Ok(run) => run,
        Err(exit) => return exit,
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut daemon = match built(&shared, init()) {
            Ok(d) => d,
            Err(exit) => return exit,
        };
        match tick_loop(&shared, &ctx, &config, &mut daemon) {
            Ok(()) => {
                daemon.on_stop();
                Exit::Stopped
            }
            Err(e) => tick_failed(e),
        }
    }));
    finish_run(&shared, outcome.unwrap_or(Exit::Panicked))
}

/// Tick until a stop is requested (`Ok`), or a tick fails and the schedule says to end the run
/// (`Err`, with the note to add to the error's line).
fn tick_loop<D: Daemon>(
    shared: &Shared,
    ctx: &Context,
    config: &Config,
    daemon: &mut D,
) -> Result<(), (D::Error, String)> {
    let mut live = config.clone();
    let mut schedule = Schedule::new(&live);
    let mut wait = schedule.first();
    loop {
        if sleep_until(
            shared,
            daemon,
            &mut Now {
                config: &mut live,
                schedule: &mut schedule,
                wait: &mut wait,
            },
        ) {
            return Ok(());
        }
        let start = Instant::now();
        shared.health.begin(start);
        let result = daemon.tick(ctx);
        let end = Instant::now();
        shared.health.end(start, end, result.is_ok());
        shared.keep_alive(end);
        wait = match result {
            Ok(()) => schedule.succeeded(start, end),
            Err(e) => match schedule.failed(end, &e) {
                Failure::Retry(w) => w,
                Failure::Exit(note) => return Err((e, note)),
            },
        };
    }
}

/// Handle pending events between ticks; returns `true` when the loop must stop.
///
/// A reload: the lifecycle sent `RELOADING=1` when the SIGHUP arrived; `on_reload` runs (again
/// while SIGHUPs keep arriving meanwhile), then `READY=1`, unless a stop was requested
/// meanwhile (a reload during a stop is not acknowledged).
fn handle_events<D: Daemon>(shared: &Shared, daemon: &mut D, now: &mut Now<'_>) -> bool {
    if shared.stop_requested() {
        return true;
    }
    if shared.take(RELOAD) {
        loop {
            match crate::config::reload(now.config) {
                Reload::NoFile => {
                    daemon.on_reload();
                    shared.health.reloaded();
                    crate::logging::lifecycle(log::Level::Info, format_args!("Reloaded"));
                }
                Reload::Applied { schedule } => {
                    if schedule {
                        *now.schedule = Schedule::new(now.config);
                        *now.wait = now.schedule.first();
                    }
                    daemon.on_reload();
                    shared.health.reloaded();
                }
                Reload::Refused => {}
            }
            if shared.stop_requested() || !shared.take(RELOAD) {
                break;
            }
        }
        shared.announce_reloaded();
    }
    shared.stop_requested()
}

/// Sleep until the schedule's next start (a backoff too), pinging the watchdog and running
/// reloads as they come. Returns `true` when a stop was requested: the sleep ends at once.
fn sleep_until<D: Daemon>(shared: &Shared, daemon: &mut D, now: &mut Now<'_>) -> bool {
    loop {
        if shared.events() != 0 && handle_events(shared, daemon, now) {
            return true;
        }
        let Some(next) = now.wait.pending(Instant::now()) else {
            return false;
        };
        match shared.wait(shared.wake_for_watchdog(next), STOP | RELOAD) {
            Wake::Event(_) => {
                if handle_events(shared, daemon, now) {
                    return true;
                }
            }
            Wake::Deadline => shared.keep_alive(Instant::now()),
        }
    }
}
