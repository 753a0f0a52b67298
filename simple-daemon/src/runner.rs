//! The run loop: start-up, ticks at a fixed rate, reloads between ticks, and the passive end.
//!
//! Promises: start-up logs the seed's lines (`PID: <pid>`, `Set signal handler: 2`,
//! `Set signal handler: 15`, `Mode: <MODE>`) before the first tick; `READY=1` is sent once the
//! state is built; ticks never overlap `on_reload`; a passive stop lets the tick in progress end,
//! cuts the sleep between ticks short at once, runs `on_stop` and logs `Graceful Interrupt...`;
//! a tick error or a panic is logged at ERROR and every sink flushed before `run` returns.

use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::Level;

use crate::config::Config;
use crate::context::{far_future, Context, Shared, Wake, RELOAD, STOP};
use crate::error::{Error, Exit};
use crate::notify::{Notifier, Watchdog};
use crate::signals::{self, FLUSH_WAIT};
use crate::{logging, Daemon};

/// Report a configuration error on stderr, in one sentence, and give the exit status for it.
pub(crate) fn config_failure(e: &Error) -> Exit {
    eprintln!("{}: {e}", crate::cli::program());
    Exit::Config
}

/// Install logging, signals and the panic hook, and log the seed's start lines.
pub(crate) fn startup(config: &Config, has_loop: bool) -> Result<Arc<Shared>, Error> {
    let signals = signals::install()?;
    logging::install(config)?;
    log::info!("PID: {}", std::process::id());
    let (notify, warnings) = Notifier::from_env();
    for w in warnings {
        log::warn!("{w}");
    }
    let shared = Arc::new(Shared::new(
        config.name.clone(),
        config.mode,
        config.stop_timeout,
        notify,
        has_loop,
    ));
    signals::spawn(signals, Arc::clone(&shared))?;
    install_panic_hook();
    log::info!("Mode: {}", config.mode);
    Ok(shared)
}

/// Log a panic's message and location at ERROR through every sink (the bounded path, so a
/// panic inside a sink cannot deadlock), flush, then let the previous hook print it on stderr.
fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(l) = logging::global() {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            let current = thread::current();
            let thread_name = current.name().unwrap_or("<unnamed>");
            let deadline = Instant::now() + FLUSH_WAIT;
            match info.location() {
                Some(loc) => l.log_bounded(
                    Level::Error,
                    format_args!("thread '{thread_name}' panicked at {loc}:\n{msg}"),
                    deadline,
                ),
                None => l.log_bounded(
                    Level::Error,
                    format_args!("thread '{thread_name}' panicked:\n{msg}"),
                    deadline,
                ),
            }
            l.flush_bounded(deadline);
        }
        previous(info);
    }));
}

/// End the run from the tick loop's thread (or a dropped guard): claim the end of the process,
/// log the end of a stop, tell systemd, flush. If the signal thread already owns the end (an
/// aggressive or escalated stop is under way), wait here for it to exit the process.
///
/// Once the end is claimed nothing can escalate it any more, so no sink may hold it up longer
/// than an aggressive stop would wait: a sink blocked past [`FLUSH_WAIT`] (a stdout pipe nobody
/// reads, a stalled syslog socket) misses these last lines; the others get them.
pub(crate) fn finish(shared: &Shared, exit: Exit) -> Exit {
    if !shared.claim_exit() {
        loop {
            thread::park();
        }
    }
    let deadline = Instant::now() + FLUSH_WAIT;
    let logger = logging::global();
    if let (Some(l), Exit::Stopped) = (logger, exit) {
        l.log_bounded(Level::Info, format_args!("Graceful Interrupt..."), deadline);
    }
    shared.notify.stopping();
    if let Some(l) = logger {
        l.flush_bounded(deadline);
    }
    shared.mark_done();
    exit
}

/// Run a daemon to completion: what [`SimpleDaemon::run`](crate::SimpleDaemon::run) and the
/// macro's `main` call.
pub(crate) fn run<D, E, F>(config: Config, init: F) -> Exit
where
    D: Daemon,
    E: Display,
    F: FnOnce() -> Result<D, E>,
{
    let shared = match startup(&config, true) {
        Ok(s) => s,
        Err(e) => return config_failure(&e),
    };
    let ctx = Context::new(Arc::clone(&shared));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut daemon = match init() {
            Ok(d) => d,
            Err(e) => {
                log::error!("Start-up failed: {e}");
                return Exit::Failed;
            }
        };
        shared.notify.ready();
        match tick_loop(&shared, &ctx, &config, &mut daemon) {
            Ok(()) => {
                daemon.on_stop();
                Exit::Stopped
            }
            Err(e) => {
                log::error!("Tick failed: {e}");
                Exit::Failed
            }
        }
    }));
    finish(&shared, outcome.unwrap_or(Exit::Panicked))
}

/// Tick until a stop is requested (`Ok`) or a tick fails (`Err`).
fn tick_loop<D: Daemon>(
    shared: &Shared,
    ctx: &Context,
    config: &Config,
    daemon: &mut D,
) -> Result<(), D::Error> {
    let interval = config.interval;
    let mut watchdog = Watchdog::new(&shared.notify);
    loop {
        if shared.events() != 0 && handle_events(shared, daemon) {
            return Ok(());
        }
        let Some(interval) = interval else {
            daemon.tick(ctx)?;
            if let Some(w) = watchdog.as_mut() {
                w.poll(&shared.notify, Instant::now());
            }
            continue;
        };
        let start = Instant::now();
        daemon.tick(ctx)?;
        let end = Instant::now();
        log::debug!("RunTimeLoop: {}", RunTime(end - start));
        if let Some(w) = watchdog.as_mut() {
            w.poll(&shared.notify, end);
        }
        // Fixed rate, start to start; an overrun starts the next tick at once, without catch-up.
        let next = start.checked_add(interval).unwrap_or_else(far_future);
        if sleep_until(shared, daemon, next, &mut watchdog) {
            return Ok(());
        }
    }
}

/// Handle pending events between ticks; returns `true` when the loop must stop.
fn handle_events<D: Daemon>(shared: &Shared, daemon: &mut D) -> bool {
    if shared.events() & STOP != 0 {
        return true;
    }
    if shared.take(RELOAD) {
        shared.notify.reloading();
        daemon.on_reload();
        log::info!("Reloaded");
        shared.notify.ready();
    }
    shared.events() & STOP != 0
}

/// Sleep between ticks until `next`, pinging the watchdog and running reloads as they come.
/// Returns `true` when a stop was requested.
fn sleep_until<D: Daemon>(
    shared: &Shared,
    daemon: &mut D,
    next: Instant,
    watchdog: &mut Option<Watchdog>,
) -> bool {
    loop {
        let wake_at = watchdog.as_ref().map_or(next, |w| w.due().min(next));
        match shared.wait(wake_at, STOP | RELOAD) {
            Wake::Event(_) => {
                if handle_events(shared, daemon) {
                    return true;
                }
            }
            Wake::Deadline => {
                let now = Instant::now();
                if let Some(w) = watchdog.as_mut() {
                    w.poll(&shared.notify, now);
                }
                if now >= next {
                    return false;
                }
            }
        }
    }
}

/// The seed's `RunTimeLoop` wording: `N microseconds`, or `N seconds, M microseconds`.
struct RunTime(Duration);

impl std::fmt::Display for RunTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        let micros = self.0.subsec_micros();
        if secs == 0 {
            write!(f, "{micros} microseconds")
        } else {
            write!(f, "{secs} seconds, {micros} microseconds")
        }
    }
}
