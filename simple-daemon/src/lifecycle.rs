//! The lifecycle of a daemon's process: start-up, the stop decision and its escalation, and the
//! end of the process with its deadline. The drivers ([`drive`](crate::drive)) run the user's
//! code over it; [`signals`](crate::signals) feeds it events.
//!
//! Promises:
//! - start-up logs the seed's lines (`PID: <pid>`, `Set signal handler: 2`,
//!   `Set signal handler: 15`, `Mode: <MODE>`), then `Logging to <path>`, and installs the panic
//!   hook, which logs a panic's
//!   message and location through every sink;
//! - a configuration error is one sentence on stderr and [`Exit::Config`]; an error that ends a
//!   started daemon ([`fatal`]) is logged at ERROR and also told on stderr in one line, unless
//!   stdout or stderr already carries the log; the start lines say where the log file is
//!   (`Logging to <path>`);
//! - the stop decision runs on the signal thread and never blocks on a lock user code may hold:
//!   it logs through the bounded path, and an aggressive stop (or an escalated passive one)
//!   exits the process within [`FLUSH_WAIT`] (plus one notification's send timeout) even when
//!   the tick is stuck inside a sink;
//! - exactly one thread owns the end of the process; the end of a passive stop is bounded the
//!   same way;
//! - the end does not depend on any sink: once it has begun, a [`deadline`] thread ends the
//!   process [`END_WAIT`] after the stop was decided even when a sink blocks in the kernel, and
//!   raises a passive stop [`FLUSH_WAIT`] after its signal when its lines are stuck that way;
//! - what systemd is told stays true: `RELOADING=1` (with `MONOTONIC_USEC=`) as soon as a
//!   SIGHUP arrives, `READY=1` only once the reload is done, neither once a stop was requested
//!   (a reload during a stop is not acknowledged), and `STOPPING=1` exactly once, from whoever
//!   first learns of the stop.

use std::fmt;
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use log::Level;

use crate::config::{Config, Mode};
use crate::context::{Context, Shared, CANCEL, RELOAD, STOP};
use crate::error::{program, Error, Exit};
use crate::health::{self, Health};
use crate::logging;
use crate::notify::{Notifier, EXTEND_STEP, SEND_TIMEOUT};
use crate::signals::{self, Event};

mod deadline;

/// The longest the end of the process waits for a log sink another thread holds, per stop.
pub(crate) const FLUSH_WAIT: Duration = Duration::from_millis(500);

/// How long after the stop was decided the [`deadline`] thread ends the process if the end is
/// not over: the sinks' [`FLUSH_WAIT`], one notification's [`SEND_TIMEOUT`], and a margin.
pub(crate) const END_WAIT: Duration = FLUSH_WAIT
    .saturating_add(SEND_TIMEOUT)
    .saturating_add(Duration::from_millis(50));

/// Whether an error that ends the daemon is also told on stderr (see [`fatal`]); set at start-up.
static FATAL_TO_STDERR: AtomicBool = AtomicBool::new(false);
/// The stderr line of the error that ends the daemon, written by [`finish`].
static FATAL: Mutex<Option<String>> = Mutex::new(None);

/// Log an error that ends the daemon (`Start-up failed: ...`, `Tick failed: ...`) at ERROR, and
/// have [`finish`] tell it on stderr too, as one line after the program's name, unless stdout or
/// stderr already carries the log: `stream` is on (stdout has every line, on a terminal or in
/// the journal), or `syslog` or `journal` is on and stderr is the journal stream (journald has
/// the line already). A panic needs none: Rust's own hook prints it on stderr.
pub(crate) fn fatal(args: fmt::Arguments<'_>) {
    if let Some(l) = logging::global() {
        l.report_drops(Instant::now() + FLUSH_WAIT);
    }
    log::error!("{args}");
    if FATAL_TO_STDERR.load(Ordering::Relaxed) {
        // One line, whatever the error's `Display` holds.
        let line = format!("{}: {args}", program()).replace(['\r', '\n'], " ");
        *FATAL.lock().unwrap_or_else(PoisonError::into_inner) = Some(line);
    }
}

/// Report a configuration error on stderr, in one sentence, and give the exit status for it.
pub(crate) fn config_failure(e: &Error) -> Exit {
    e.report()
}

/// The start of a driver's run (`run`, `run_tokio`, `run_async`): [`startup`] and the daemon's
/// [`Context`]. A failure is reported on stderr ([`config_failure`]) and its status is the
/// run's exit.
pub(crate) fn begin(config: &Config, cancellable: bool) -> Result<(Arc<Shared>, Context), Exit> {
    let shared = startup(config, true, cancellable).map_err(|e| config_failure(&e))?;
    let ctx = Context::new(Arc::clone(&shared));
    Ok((shared, ctx))
}

/// What the daemon's `new` (a driver's `init`) returned: the state, once the daemon is told
/// ready (`/readyz`, `READY=1`); or an error, logged at ERROR as `Start-up failed: ...`, whose
/// [`Exit::Failed`] is the run's exit.
pub(crate) fn built<D, E: fmt::Display>(shared: &Shared, state: Result<D, E>) -> Result<D, Exit> {
    match state {
        Ok(d) => {
            shared.health.set_ready();
            shared.announce_ready();
            Ok(d)
        }
        Err(e) => {
            fatal(format_args!("Start-up failed: {e}"));
            Err(Exit::Failed)
        }
    }
}

/// A tick error that ends the run (with the schedule's note, empty for `on_error = "exit"`),
/// logged at ERROR as `Tick failed...: ...`: the run's exit, [`Exit::Failed`].
pub(crate) fn tick_failed<E: fmt::Display>((error, note): (E, String)) -> Exit {
    fatal(format_args!("Tick failed{note}: {error}"));
    Exit::Failed
}

/// Install logging, signals and the panic hook, and log the seed's start lines.
///
/// The admin port and logging come first: every step that can fail for a reason the user can
/// fix (a busy port, another logger, a path, a socket) fails before any signal handler is
/// installed, and a later failure restores the default actions, so a failed start leaves the
/// process as SIGINT/SIGTERM found it.
///
/// `cancellable` is the async driver's: an aggressive or escalated stop then cancels the user's
/// code first (see [`stop_at_once`]).
pub(crate) fn startup(config: &Config, takes_reloads: bool, cancellable: bool) -> Result<Arc<Shared>, Error> {
    // The port first: a busy one ends the start before the log file is made.
    #[cfg(feature = "admin")]
    let admin = crate::admin::bind(config)?;
    logging::install(config)?;
    deadline::start()?;
    let signals = signals::install()?;
    logging::lifecycle(Level::Info, format_args!("PID: {}", std::process::id()));
    let (notify, warnings) = Notifier::from_env();
    for w in warnings {
        log::warn!("{w}");
    }
    let shared = Arc::new(
        Shared::new(
            config.name.clone(),
            config.mode,
            config.stop_timeout,
            notify,
            takes_reloads,
            cancellable,
        )
        .with_health(Health::new(config.tick_timeout)),
    );
    let on_signal = Arc::clone(&shared);
    if let Err(e) = signals::spawn(signals, move |event| on_event(&on_signal, event)) {
        signals::restore_defaults();
        return Err(e);
    }
    crate::pid1::start();
    let watched = Arc::clone(&shared);
    if let Err(e) = health::watch(Arc::clone(&shared.health), move || watched.done()) {
        log::warn!("cannot start the tick_timeout watcher: {e}");
    }
    #[cfg(feature = "admin")]
    if let Some(listener) = admin {
        if let Err(e) = crate::admin::serve(listener, config, &shared) {
            signals::restore_defaults();
            return Err(e);
        }
    }
    if takes_reloads {
        // The tick loop runs on this thread (the sync driver): a panic here ends the run.
        let _ = DRIVER.set(thread::current().id());
    }
    install_panic_hook();
    logging::lifecycle(Level::Info, format_args!("Mode: {}", config.mode));
    let from = if config.from_rust_log {
        " (from RUST_LOG)"
    } else {
        ""
    };
    logging::lifecycle(
        Level::Info,
        format_args!("Log level: {}{from}", config.directives),
    );
    if let Some(line) = crate::config::start_line(config) {
        logging::lifecycle(Level::Info, format_args!("{line}"));
    }
    if let Some(l) = logging::global() {
        logging::lifecycle(
            Level::Info,
            format_args!("Logging to {}", l.file_path().display()),
        );
        if let Some(note) = l.one_path() {
            logging::lifecycle(Level::Info, format_args!("{note}"));
        }
    }
    let carried = config.stream || ((config.syslog || config.journal) && logging::is_journal(2));
    FATAL_TO_STDERR.store(!carried, Ordering::Relaxed);
    Ok(shared)
}

/// Log a panic's message and location at ERROR through every sink (the bounded path, so a
/// panic inside a sink cannot deadlock), flush, then let the previous hook print it on stderr.
///
/// On the driver's thread (where [`startup`] ran for a tick loop) the panic ends the run, so the
/// [`deadline`] thread bounds this report: `_exit(101)` [`END_WAIT`] after the panic if a sink
/// or stderr (a full pipe nobody reads) holds it in the kernel.
fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let ends_the_run = DRIVER.get() == Some(&thread::current().id());
        if ends_the_run {
            deadline::arm_panic(Instant::now() + END_WAIT);
        }
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
            if ends_the_run {
                l.report_drops(deadline);
            }
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
        if ends_the_run {
            deadline::panic_reported();
        }
    }));
}

/// The thread of the tick loop, whose panics end the run (see [`install_panic_hook`]).
static DRIVER: OnceLock<thread::ThreadId> = OnceLock::new();

/// Log through the bounded path (never waits past `deadline` for a sink).
fn log_bounded(level: Level, args: fmt::Arguments<'_>, deadline: Instant) {
    if let Some(l) = logging::global() {
        l.log_bounded(level, args, deadline);
    }
}

/// Act on one signal, on the signal thread: the stop decision, escalation, and reloads.
fn on_event(shared: &Arc<Shared>, event: Event) {
    let signo = event.signo();
    if shared.done() {
        // The run is over (the guard was dropped) and the program goes on without a daemon:
        // the signal does what it would have done without one.
        let _ = signal_hook::low_level::emulate_default_handler(signo);
        return;
    }
    if shared.exiting() {
        // The end of the process is under way (its `Graceful Interrupt...` may be logged
        // already): a late signal must not add lines after it.
        return;
    }
    let deadline = Instant::now() + FLUSH_WAIT;
    if let Event::Reload(_) = event {
        // The check above and these lines race with the driver's end: under this guard the end
        // waits for them (bounded: the log's deadline, the re-open's half second).
        let Some(order) = shared.before_the_end() else {
            return;
        };
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
        if let Some(Err(e)) = logging::global().map(|l| l.reopen()) {
            log_bounded(
                Level::Warn,
                format_args!("cannot re-open the log file: {e}"),
                deadline,
            );
        }
        drop(order);
        if shared.stop_requested() {
            // A reload during a stop is not acknowledged: systemd must not hear RELOADING=1,
            // then READY=1, from a daemon that is stopping. The log file was re-opened.
            return;
        }
        // RELOADING=1 now, when the reload is asked for; READY=1 once it is done: by the
        // driver after `on_reload` (or once the guard's user took it), or here when the driver
        // takes no reloads (re-opening the log file was the whole reload). Before start-up's
        // READY=1 systemd hears nothing of it: `on_reload` runs before the first tick.
        shared.announce_reloading();
        if shared.takes_reloads() {
            shared.raise(RELOAD);
        } else {
            shared.announce_reloaded();
        }
        return;
    }
    // Besides this thread only `Context::stop` raises STOP (a stop the daemon asked for, after
    // which a signal is a second stop request), so the check and the raise below race with
    // nothing else. The stop lines are logged BEFORE the stop is raised: once STOP is up the
    // tick loop may finish the run and exit the process, and lines this thread had not yet
    // written would be lost (a busy sink can delay them by up to FLUSH_WAIT).
    if shared.events() & STOP != 0 {
        stop_at_once(
            shared,
            Some(signo),
            Some(format_args!(
                "Second stop signal ({signo}): stopping at once, without waiting for the tick in progress"
            )),
            deadline,
        );
        return;
    }
    match shared.mode {
        Mode::Aggressive => {
            // Claims the end of the process before the tick loop can see a stop, so `on_stop`
            // never runs on an aggressive stop.
            stop_at_once(shared, Some(signo), None, deadline);
            shared.raise(STOP);
        }
        Mode::Passive => {
            // A sink blocked in the kernel must not hold the stop: past `deadline`, the
            // deadline thread raises it without these lines.
            deadline::arm_stop(deadline, shared);
            log_bounded(Level::Info, format_args!("interrupted == True"), deadline);
            log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
            deadline::stop_announced();
            shared.raise(STOP);
            shared.announce_stopping();
            if let Some(timeout) = shared.stop_timeout {
                let shared = Arc::clone(shared);
                let spawned = thread::Builder::new()
                    .name("simple-daemon-stop-timer".into())
                    .spawn(move || stop_watch(&shared, timeout));
                if let Err(e) = spawned {
                    log_bounded(
                        Level::Warn,
                        format_args!("cannot start the stop_timeout timer: {e}"),
                        deadline,
                    );
                }
            }
        }
    }
}

/// The passive stop's watch, when `stop_timeout` is set: escalate when it elapses, and meanwhile,
/// under a notify socket, extend systemd's stop timeout (`EXTEND_TIMEOUT_USEC`) by at most
/// [`EXTEND_STEP`] at a time and never past the escalation (plus [`FLUSH_WAIT`]).
///
/// Without `stop_timeout` nothing is extended: the tick may take as long as it takes, and the
/// unit's `TimeoutStopSec=` stays the operator's bound on a tick that never returns.
fn stop_watch(shared: &Shared, timeout: Duration) {
    // A timeout too large for an `Instant` never elapses.
    let escalate_at = Instant::now().checked_add(timeout);
    loop {
        let now = Instant::now();
        let left = escalate_at.map_or(EXTEND_STEP, |e| e.saturating_duration_since(now));
        if left.is_zero() {
            stop_at_once(
                shared,
                None,
                Some(format_args!(
                    "stop_timeout of {timeout:?} elapsed: stopping at once, without waiting for the tick in progress"
                )),
                now + FLUSH_WAIT,
            );
            return;
        }
        shared.notify.extend_timeout(left.min(EXTEND_STEP) + FLUSH_WAIT);
        thread::sleep(left.min(EXTEND_STEP / 2));
    }
}

/// End the process now, from this thread: arm the [`deadline`] thread, log
/// `Received <signo> signal.` (for a signal) and `Graceful Interrupt...` (after `warn`, the reason
/// for an escalation), tell systemd `STOPPING=1`, flush every sink, and `_exit(0)`. No sink is
/// waited for past `deadline` (a lock another thread holds), so the whole stop waits
/// [`FLUSH_WAIT`] at most for the sinks (plus one notification's send timeout); a sink blocked in
/// the kernel is cut short by the deadline thread at `deadline` plus the rest of [`END_WAIT`].
/// Returns only if another thread already owns the end of the process.
///
/// Under a driver that can cancel the user's code (the async one), the lines are logged, the
/// driver is told to cancel ([`CANCEL`]) and ends the process itself once the user's code is
/// dropped; only when that does not happen within [`CANCEL_WAIT`] (a thread stuck in blocking
/// code) does this end the process as above, after a WARN line saying so.
fn stop_at_once(shared: &Shared, signo: Option<i32>, warn: Option<fmt::Arguments<'_>>, deadline: Instant) {
    if shared.cancellable() {
        cancel_then_end(shared, signo, warn, deadline);
    } else {
        end_now(shared, signo, warn, deadline);
    }
}

/// How long an aggressive or escalated stop waits for the async driver to cancel the user's
/// code before it ends the process without it.
pub(crate) const CANCEL_WAIT: Duration = Duration::from_millis(500);
/// How often that wait looks.
const CANCEL_POLL: Duration = Duration::from_millis(1);

/// [`stop_at_once`] under a driver that cancels: log the stop's lines, raise [`CANCEL`], and
/// wait up to [`CANCEL_WAIT`] for the driver to drop the user's code and take the end; past it,
/// [`end_now`] with a WARN line. The first caller only (a signal and the stop timer may race).
fn cancel_then_end(shared: &Shared, signo: Option<i32>, warn: Option<fmt::Arguments<'_>>, deadline: Instant) {
    // No user code left to cancel (the driver is past it, ending the run): nothing to escalate.
    if shared.user_code_over() || !shared.begin_cancel() {
        return;
    }
    if let Some(signo) = signo {
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
    }
    if let Some(w) = warn {
        log_bounded(Level::Warn, w, deadline);
    }
    shared.raise(STOP | CANCEL);
    shared.announce_stopping();
    let give_up = Instant::now() + CANCEL_WAIT;
    while !shared.user_code_over() {
        if Instant::now() >= give_up {
            end_now(
                shared,
                None,
                Some(format_args!(
                    "the tick could not be cancelled within {CANCEL_WAIT:?} (its thread is blocked \
                     outside an .await): ending the process without it"
                )),
                Instant::now() + FLUSH_WAIT,
            );
            return;
        }
        thread::sleep(CANCEL_POLL);
    }
}

/// Bound what is left of the process after a run: whatever blocks, the process ends with
/// `exit`'s status `wait` from now (the async driver's runtime shutdown, or the user's runtime
/// after an awaited run). A later [`finish`] keeps the earlier of the two deadlines.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn bound_rest(wait: Duration, exit: Exit) {
    deadline::arm(Instant::now() + wait, i32::from(exit.code()));
}

/// The end of [`stop_at_once`] without cancelling: claim the end, log, flush, `_exit(0)`.
fn end_now(shared: &Shared, signo: Option<i32>, warn: Option<fmt::Arguments<'_>>, deadline: Instant) {
    if !shared.claim_exit() {
        return;
    }
    deadline::arm(deadline + (END_WAIT - FLUSH_WAIT), 0);
    if let Some(signo) = signo {
        log_bounded(Level::Info, format_args!("Received {signo} signal."), deadline);
    }
    if let Some(w) = warn {
        log_bounded(Level::Warn, w, deadline);
    }
    if let Some(l) = logging::global() {
        l.report_drops(deadline);
    }
    log_bounded(Level::Info, format_args!("Graceful Interrupt..."), deadline);
    shared.announce_stopping();
    if let Some(l) = logging::global() {
        l.flush_bounded(deadline);
    }
    // SAFETY: `_exit` ends the process without running atexit handlers or destructors, which
    // is the point: user code is still running on other threads and must not be waited for.
    // Every sink was flushed above.
    unsafe { libc::_exit(0) }
}

/// End the run from the tick loop's thread (or a dropped guard): claim the end of the process,
/// log the end of a stop, tell systemd, flush. If the signal thread already owns the end (an
/// aggressive or escalated stop is under way), wait here for it to exit the process.
///
/// Once the end is claimed nothing can escalate it any more, so no sink may hold it up longer
/// than an aggressive stop would wait: a sink blocked past [`FLUSH_WAIT`] (a stdout pipe nobody
/// reads, a stalled syslog socket) misses these last lines; the others get them; and a sink
/// blocked in the kernel is cut short by the [`deadline`] thread, which exits with `exit`'s
/// status [`END_WAIT`] after the end began. When the end is over the deadline is disarmed (the
/// program may go on after a guard) and armed again, with the same status, at `exit(3)`.
///
/// After a guard the program goes on without a daemon, so signals get their default action
/// back; after a run ([`finish_run`]) the process exits next, and a late signal (the tail of a
/// storm) stays ignored, so it cannot turn the run's exit status into a death by signal.
pub(crate) fn finish(shared: &Shared, exit: Exit) -> Exit {
    end(shared, exit, true)
}

/// [`finish`] for a driver whose `main` returns next (`run`, `run_tokio`): late signals stay
/// ignored until the process has exited.
pub(crate) fn finish_run(shared: &Shared, exit: Exit) -> Exit {
    end(shared, exit, false)
}

fn end(shared: &Shared, exit: Exit, goes_on: bool) -> Exit {
    if !shared.claim_exit() {
        loop {
            thread::park();
        }
    }
    let status = i32::from(exit.code());
    deadline::arm(Instant::now() + END_WAIT, status);
    let deadline = Instant::now() + FLUSH_WAIT;
    let logger = logging::global();
    if let (Some(l), Exit::Stopped) = (logger, exit) {
        // An error's line came first, with the drops before it (`fatal`).
        l.report_drops(deadline);
        l.log_bounded(Level::Info, format_args!("Graceful Interrupt..."), deadline);
    }
    shared.announce_stopping();
    if let Some(l) = logger {
        l.flush_bounded(deadline);
    }
    if let Some(line) = FATAL.lock().unwrap_or_else(PoisonError::into_inner).take() {
        logging::stderr_line(format_args!("{line}"));
    }
    if goes_on {
        shared.mark_done();
    }
    deadline::disarm(status);
    exit
}
