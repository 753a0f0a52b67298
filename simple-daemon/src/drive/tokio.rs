//! The tokio driver (feature `tokio`): [`AsyncDaemon`], run by
//! [`SimpleDaemon::run_tokio`] (which builds the runtime) or awaited with
//! [`SimpleDaemon::run_async`] inside a runtime the program already has; the async half of
//! [`Context`] ([`stopped`](Context::stopped), [`token`](Context::token),
//! [`sleep_async`](Context::sleep_async)).
//!
//! It is a thin driver over the [`lifecycle`](crate::lifecycle): start-up, the stop decision,
//! escalation and the end of the process are the lifecycle's, as for the sync tick loop. What
//! it adds is that the user's code can be cancelled: it runs as one future, raced against the
//! lifecycle's cancel request.
//!
//! Promises:
//! - passive stop: [`stopped`](Context::stopped) completes and [`token`](Context::token) is
//!   cancelled at the first signal; the tick future runs to its end; the sleep between ticks
//!   ends at once; `on_stop` is awaited; the state is dropped; tasks still on the runtime get
//!   the rest of [`TASKS_WAIT`] to end by themselves, then are dropped at their next `.await`,
//!   and `spawn_blocking` work still running is abandoned (it never holds the exit);
//!   `Graceful Interrupt...`; exit 0;
//! - aggressive stop, or an escalated passive one (second signal, `stop_timeout`): the future
//!   running the user's code (the tick, `on_stop`, `on_reload`, `new`) is dropped at its next
//!   `.await`, so the destructors of its locals run, then the state is dropped; `on_stop` does
//!   not run; `Received <n> signal.`, `Graceful Interrupt...`, flush, exit 0. When the driver's
//!   thread is stuck in blocking code and the cancellation cannot complete within 500 ms, the
//!   lifecycle ends the process as a sync aggressive stop does, after a WARN line saying that
//!   the tick could not be cancelled;
//! - a tick `Err` exits 1, a panic in the tick 101 (logged with its location); a panic in a
//!   task the daemon spawned is logged at ERROR with its location and the daemon goes on;
//! - ticks follow the same fixed-rate grid as the sync loop ([`schedule`](crate::schedule)),
//!   the watchdog is pinged after each tick and during the sleep between ticks, and a reload
//!   runs `on_reload` between ticks, then `READY=1`.

use std::fmt::Display;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use ::tokio::runtime::{Builder, Runtime};
use ::tokio::sync::Notify;
use ::tokio_util::sync::CancellationToken;

use crate::config::Reload;
use crate::config::{Config, SimpleDaemon};
use crate::context::{far_future, Context, Listener, Shared, CANCEL, RELOAD, STOP};
use crate::drive::sync::Now;
use crate::error::{Error, Exit};
use crate::lifecycle::{begin, bound_rest, built, config_failure, finish_run, tick_failed, END_WAIT};
use crate::schedule::{Failure, Schedule};

/// How long the end of an async daemon waits for what is left on the runtime once the daemon's
/// own code is over (after `on_stop`, and the state dropped); then it is abandoned.
///
/// After a passive stop, tasks the daemon spawned get this long to end by themselves (a task
/// watching [`Context::token`] finishes its work); then the runtime shuts down: the tasks left
/// are dropped at their next `.await` (their destructors run) and `spawn_blocking` work still
/// running is abandoned. After an aggressive or escalated stop the tasks get no such grace: the
/// runtime shuts down at once, waiting 20 ms at most for its threads.
pub const TASKS_WAIT: Duration = Duration::from_millis(250);

/// A daemon whose work is async (feature `tokio`): what [`SimpleDaemon::run_tokio`] and
/// [`SimpleDaemon::run_async`] run, and what `#[daemon]` implements for an `async fn tick`.
///
/// Write the methods as `async fn`. The tick future is polled on the thread that runs the
/// daemon (the runtime's `block_on`), so it need not be `Send`; what it spawns runs on the
/// runtime's workers.
///
/// On a passive stop the tick in progress runs to its end and `on_stop` is awaited; on an
/// aggressive or escalated stop, the future in progress is dropped at its next `.await` (its
/// locals' destructors run), then the state is dropped, and `on_stop` does not run.
///
/// ```
/// use simple_daemon::{AsyncDaemon, Context};
/// use std::convert::Infallible;
/// use std::time::Duration;
///
/// #[derive(Default)]
/// struct Poller { polls: u64 }
///
/// impl AsyncDaemon for Poller {
///     type Error = Infallible;
///     async fn tick(&mut self, ctx: &Context) -> Result<(), Infallible> {
///         self.polls += 1;
///         ctx.sleep_async(Duration::from_millis(1)).await; // a step that a stop cuts short
///         Ok(())
///     }
/// }
///
/// // A tick alone, in a test, with a detached context:
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let ctx = Context::detached("Poller");
/// let mut p = Poller::default();
/// rt.block_on(p.tick(&ctx)).unwrap();
/// assert_eq!(p.polls, 1);
/// ```
pub trait AsyncDaemon {
    /// What a failing tick returns; it is logged at ERROR and the daemon exits with status 1.
    type Error: Display;

    /// One pass of the work.
    ///
    /// # Errors
    ///
    /// An `Err` ends the daemon: it is logged at ERROR and the process exits with status 1.
    fn tick(&mut self, ctx: &Context) -> impl Future<Output = Result<(), Self::Error>>;

    /// Awaited once after a passive stop, before `Graceful Interrupt...` is logged.
    fn on_stop(&mut self) -> impl Future<Output = ()> {
        async {}
    }

    /// Awaited on SIGHUP, between ticks, after the log file was re-opened.
    fn on_reload(&mut self) -> impl Future<Output = ()> {
        async {}
    }
}

/// The tokio runtime's flavor (the `flavor` key), named as in `#[tokio::main(flavor = ...)]`.
///
/// ```
/// assert_eq!(simple_daemon::Flavor::default(), simple_daemon::Flavor::MultiThread);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavor {
    /// Everything on the daemon's own thread (`flavor = "current_thread"`).
    CurrentThread,
    /// A pool of worker threads, one per CPU unless
    /// [`worker_threads`](SimpleDaemon::worker_threads) says otherwise (`flavor =
    /// "multi_thread"`, the default, as `#[tokio::main]`).
    #[default]
    MultiThread,
}

impl SimpleDaemon {
    /// The flavor of the runtime [`run_tokio`](Self::run_tokio) builds; default
    /// [`Flavor::MultiThread`]. Feature `tokio`.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.runtime.current_thread = flavor == Flavor::CurrentThread;
        self
    }

    /// The number of worker threads of a [`Flavor::MultiThread`] runtime; default one per CPU.
    /// Feature `tokio`. Zero, or a count with [`Flavor::CurrentThread`], is an
    /// [`Error::Setting`] for `worker_threads` when the configuration is built.
    ///
    /// ```
    /// use simple_daemon::{Flavor, SimpleDaemon};
    ///
    /// let err = SimpleDaemon::new("d").flavor(Flavor::CurrentThread).worker_threads(2).config();
    /// assert!(err.unwrap_err().to_string().starts_with("invalid worker_threads \"2\""));
    /// ```
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.runtime.worker_threads = Some(count);
        self
    }

    /// Build the tokio runtime ([`flavor`](Self::flavor), [`worker_threads`](Self::worker_threads)),
    /// run `daemon` on it until a stop, shut the runtime down within [`TASKS_WAIT`], and return
    /// how the run ended (see [`Exit`]). Feature `tokio`.
    ///
    /// ```no_run
    /// use simple_daemon::{AsyncDaemon, Context, Exit, Mode, SimpleDaemon};
    /// use std::time::Duration;
    ///
    /// #[derive(Default)]
    /// struct Poller { polls: u64 }
    ///
    /// impl AsyncDaemon for Poller {
    ///     type Error = std::io::Error;
    ///     async fn tick(&mut self, _ctx: &Context) -> std::io::Result<()> {
    ///         self.polls += 1;
    ///         tokio::time::sleep(Duration::from_secs(5)).await; // cancelled here on a stop
    ///         Ok(())
    ///     }
    /// }
    ///
    /// fn main() -> Exit {
    ///     SimpleDaemon::new("Poller")
    ///         .mode(Mode::Aggressive)
    ///         .interval(Duration::from_secs(30))
    ///         .run_tokio(Poller::default())
    /// }
    /// ```
    pub fn run_tokio<D: AsyncDaemon>(&self, daemon: D) -> Exit {
        self.run_tokio_with(|| std::future::ready(Ok::<D, std::convert::Infallible>(daemon)))
    }

    /// Like [`run_tokio`](Self::run_tokio), building the state with `init` (awaited on the
    /// runtime after logging is up and before `READY=1`); an `Err` is logged at ERROR and ends
    /// the run with [`Exit::Failed`]. Feature `tokio`.
    pub fn run_tokio_with<D, E, Fut, F>(&self, init: F) -> Exit
    where
        D: AsyncDaemon,
        E: Display,
        Fut: Future<Output = Result<D, E>>,
        F: FnOnce() -> Fut,
    {
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => return config_failure(&e),
        };
        let runtime = match build_runtime(&config) {
            Ok(rt) => rt,
            Err(e) => return config_failure(&e),
        };
        let (shared, ctx) = match begin(&config, true) {
            Ok(run) => run,
            Err(exit) => return exit,
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(drive(&shared, &ctx, &config, init))
        }));
        shared.mark_user_code_over();
        let exit = outcome.unwrap_or(Exit::Panicked);
        // Whatever blocks the rest (a task's destructor) is cut by the deadline.
        bound_rest(TASKS_WAIT + END_WAIT, exit);
        let until = Instant::now() + TASKS_WAIT;
        if graceful(&shared, exit) {
            runtime.block_on(let_tasks_end(until));
        }
        // Tasks left are dropped at their next `.await`; blocking work is abandoned. After a
        // cancel the blocking pool gets no more than the workers need to drop the tasks.
        let left = if graceful(&shared, exit) {
            until.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        runtime.shutdown_timeout(left.max(SHUTDOWN_MIN));
        finish_run(&shared, exit)
    }

    /// The generated binary's `main` for an async daemon: the command line, as
    /// [`main`](Self::main), then [`run_tokio_with`](Self::run_tokio_with)`(init)`. It is what
    /// `#[daemon]` expands to when a method is `async fn`. Feature `tokio`.
    ///
    /// ```no_run
    /// # use simple_daemon::{AsyncDaemon, Context};
    /// # #[derive(Default)] struct Poller;
    /// # impl AsyncDaemon for Poller {
    /// #     type Error = std::convert::Infallible;
    /// #     async fn tick(&mut self, _: &Context) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// fn main() -> simple_daemon::Exit {
    ///     simple_daemon::SimpleDaemon::new("Poller")
    ///         .main_tokio(|| async { Ok::<_, std::io::Error>(Poller) })
    /// }
    /// ```
    pub fn main_tokio<D, E, Fut, F>(&self, init: F) -> Exit
    where
        D: AsyncDaemon,
        E: Display,
        Fut: Future<Output = Result<D, E>>,
        F: FnOnce() -> Fut,
    {
        crate::cli::main(self, |b| b.run_tokio_with(init))
    }

    /// Run `daemon` inside the tokio runtime the program already has (`#[tokio::main]`), until
    /// a stop. Feature `tokio`.
    ///
    /// The stop contract is [`run_tokio`](Self::run_tokio)'s, except that the runtime is the
    /// program's: it is not shut down here. So that nothing left on it (an endless task, a
    /// `spawn_blocking` that never returns) holds the exit when the runtime is dropped, the
    /// process ends with the run's exit status at the latest [`TASKS_WAIT`] after this returns.
    ///
    /// ```no_run
    /// use simple_daemon::{AsyncDaemon, Context, Exit, SimpleDaemon};
    ///
    /// struct Poller;
    ///
    /// impl AsyncDaemon for Poller {
    ///     type Error = std::convert::Infallible;
    ///     async fn tick(&mut self, ctx: &Context) -> Result<(), Self::Error> {
    ///         ctx.stopped().await; // until a stop
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Exit {
    ///     SimpleDaemon::new("Poller").run_async(Poller).await
    /// }
    /// ```
    pub async fn run_async<D: AsyncDaemon>(&self, daemon: D) -> Exit {
        self.run_async_with(|| std::future::ready(Ok::<D, std::convert::Infallible>(daemon)))
            .await
    }

    /// Like [`run_async`](Self::run_async), building the state with `init` (see
    /// [`run_tokio_with`](Self::run_tokio_with)). Feature `tokio`.
    pub async fn run_async_with<D, E, Fut, F>(&self, init: F) -> Exit
    where
        D: AsyncDaemon,
        E: Display,
        Fut: Future<Output = Result<D, E>>,
        F: FnOnce() -> Fut,
    {
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => return config_failure(&e),
        };
        let (shared, ctx) = match begin(&config, true) {
            Ok(run) => run,
            Err(exit) => return exit,
        };
        let outcome = CatchUnwind(pin!(drive(&shared, &ctx, &config, init))).await;
        shared.mark_user_code_over();
        let exit = outcome.unwrap_or(Exit::Panicked);
        if graceful(&shared, exit) {
            let_tasks_end(Instant::now() + TASKS_WAIT).await;
        }
        let exit = finish_run(&shared, exit);
        bound_rest(TASKS_WAIT, exit);
        exit
    }
}

/// The least the runtime's shutdown waits for its workers to drop the tasks left.
const SHUTDOWN_MIN: Duration = Duration::from_millis(20);

/// Whether the run ended by a passive stop (not cancelled, no error, no panic): then the tasks
/// left on the runtime get [`TASKS_WAIT`] to end by themselves.
fn graceful(shared: &Shared, exit: Exit) -> bool {
    exit == Exit::Stopped && shared.events() & CANCEL == 0
}

/// Wait until no task is alive on the current runtime, or `until`.
async fn let_tasks_end(until: Instant) {
    let handle = ::tokio::runtime::Handle::current();
    while handle.metrics().num_alive_tasks() > 0 && Instant::now() < until {
        ::tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The runtime the keys ask for, with every driver enabled that the build of tokio has.
fn build_runtime(config: &Config) -> Result<Runtime, Error> {
    let keys = config.runtime;
    let mut builder = if keys.current_thread {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        if let Some(n) = keys.worker_threads {
            b.worker_threads(n);
        }
        b
    };
    builder.enable_all().build().map_err(Error::Runtime)
}

/// Poll a future, turning a panic into `Err` (the awaited form's `catch_unwind`).
struct CatchUnwind<'a, F>(Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = std::thread::Result<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The lifecycle's events as tokio primitives: what the driver and [`Context::stopped`] wait on.
#[derive(Debug, Default)]
struct Tokens {
    /// Cancelled when a stop is requested.
    stopped: CancellationToken,
    /// Cancelled when the lifecycle asks the driver to cancel the user's code.
    cancel: CancellationToken,
    /// Notified when a reload is pending.
    reload: Notify,
}

impl Listener for Tokens {
    fn sync(&self, events: u8) {
        if events & STOP != 0 {
            self.stopped.cancel();
        }
        if events & CANCEL != 0 {
            self.cancel.cancel();
        }
        if events & RELOAD != 0 {
            self.reload.notify_one();
        }
    }
}

/// The context's tokens, installed on first use. (Only this module installs a listener, so the
/// fallback, tokens nothing cancels, is never taken.)
fn tokens(shared: &Shared) -> &Tokens {
    static NEVER: std::sync::OnceLock<Tokens> = std::sync::OnceLock::new();
    shared
        .listener(Tokens::default)
        .unwrap_or_else(|| NEVER.get_or_init(Tokens::default))
}

/// The whole run of the user's code, raced against the lifecycle's cancel request: on a cancel
/// the future is dropped where it waits, so its locals and then the state are dropped.
async fn drive<D, E, Fut, F>(shared: &Shared, ctx: &Context, config: &Config, init: F) -> Exit
where
    D: AsyncDaemon,
    E: Display,
    Fut: Future<Output = Result<D, E>>,
    F: FnOnce() -> Fut,
{
    let tokens = tokens(shared);
    let exit = {
        let work = pin!(async {
            let mut daemon = match built(shared, init().await) {
                Ok(d) => d,
                Err(exit) => return exit,
            };
            match tick_loop(shared, tokens, ctx, config, &mut daemon).await {
                Ok(()) => {
                    daemon.on_stop().await;
                    Exit::Stopped
                }
                Err(e) => tick_failed(e),
            }
        });
        ::tokio::select! {
            biased;
            () = tokens.cancel.cancelled() => Exit::Stopped,
            exit = work => exit,
        }
        // `work` is dropped here, at the end of its block.
    };
    shared.mark_user_code_over();
    exit
}

/// Tick until a stop is requested (`Ok`), or a tick fails and the schedule says to end the run
/// (`Err`, with the note to add to the error's line). When each tick starts is the
/// [`schedule`](crate::schedule)'s answer, as in the sync loop.
async fn tick_loop<D: AsyncDaemon>(
    shared: &Shared,
    tokens: &Tokens,
    ctx: &Context,
    config: &Config,
    daemon: &mut D,
) -> Result<(), (D::Error, String)> {
    let mut live = config.clone();
    let mut schedule = Schedule::new(&live);
    let mut wait = schedule.first();
    loop {
        let mut now = Now {
            config: &mut live,
            schedule: &mut schedule,
            wait: &mut wait,
        };
        if sleep_until(shared, tokens, daemon, &mut now).await {
            return Ok(());
        }
        let start = Instant::now();
        shared.health.begin(start);
        let result = daemon.tick(ctx).await;
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

/// Handle pending events between ticks; `true` when the loop must stop (as the sync loop's).
async fn handle_events<D: AsyncDaemon>(shared: &Shared, daemon: &mut D, now: &mut Now<'_>) -> bool {
    if shared.stop_requested() {
        return true;
    }
    if shared.take(RELOAD) {
        loop {
            // The file is small and local: read on this thread, between ticks, as the sync
            // driver does.
            match crate::config::reload(now.config) {
                Reload::NoFile => {
                    daemon.on_reload().await;
                    shared.health.reloaded();
                    crate::logging::lifecycle(log::Level::Info, format_args!("Reloaded"));
                }
                Reload::Applied { schedule } => {
                    if schedule {
                        *now.schedule = Schedule::new(now.config);
                        *now.wait = now.schedule.first();
                    }
                    daemon.on_reload().await;
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
async fn sleep_until<D: AsyncDaemon>(
    shared: &Shared,
    tokens: &Tokens,
    daemon: &mut D,
    now: &mut Now<'_>,
) -> bool {
    loop {
        if shared.events() != 0 && handle_events(shared, daemon, now).await {
            return true;
        }
        let Some(next) = now.wait.pending(Instant::now()) else {
            // Due at once (back to back, an overrun): let the runtime run its other tasks and
            // see a cancel, even when the tick never waits.
            ::tokio::task::yield_now().await;
            return false;
        };
        let wake = ::tokio::time::Instant::from_std(shared.wake_for_watchdog(next));
        ::tokio::select! {
            biased;
            () = tokens.stopped.cancelled() => return true,
            () = tokens.reload.notified() => {
                if handle_events(shared, daemon, now).await {
                    return true;
                }
            }
            () = ::tokio::time::sleep_until(wake) => shared.keep_alive(Instant::now()),
        }
    }
}

/// The async half of the context (feature `tokio`).
impl Context {
    /// A future that completes when a stop is requested (the first signal in passive mode, at
    /// once in aggressive mode, or [`stop`](Self::stop)), for `tokio::select!`. It borrows
    /// nothing: it can be moved into a spawned task.
    ///
    /// ```
    /// use simple_daemon::Context;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let ctx = Context::detached("Poller");
    /// let stopped = ctx.stopped();
    /// ctx.stop();
    /// stopped.await; // completes: the stop was requested
    /// # });
    /// ```
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        tokens(&self.shared).stopped.clone().cancelled_owned()
    }

    /// A `tokio_util` [`CancellationToken`] cancelled at the same moment as
    /// [`stopped`](Self::stopped) completes, to hand to spawned tasks. It is a child token:
    /// cancelling it (or a clone) does not stop the daemon; [`stop`](Self::stop) does.
    ///
    /// ```
    /// use simple_daemon::Context;
    ///
    /// let ctx = Context::detached("Poller");
    /// let token = ctx.token();
    /// assert!(!token.is_cancelled());
    /// ctx.stop();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn token(&self) -> CancellationToken {
        tokens(&self.shared).stopped.child_token()
    }

    /// Sleep for `duration` without blocking the runtime, returning early, at once, when a stop
    /// is requested: the async [`sleep`](Self::sleep), for the pauses between the steps of a
    /// tick. Returns `true` when it slept the whole time, `false` when a stop cut it short.
    ///
    /// ```
    /// use simple_daemon::Context;
    /// use std::time::Duration;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let ctx = Context::detached("Poller");
    /// assert!(ctx.sleep_async(Duration::from_millis(1)).await);
    /// ctx.stop();
    /// assert!(!ctx.sleep_async(Duration::from_secs(60)).await); // at once
    /// # });
    /// ```
    pub async fn sleep_async(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration).unwrap_or_else(far_future);
        let stopped = &tokens(&self.shared).stopped;
        ::tokio::select! {
            biased;
            () = stopped.cancelled() => false,
            () = ::tokio::time::sleep_until(::tokio::time::Instant::from_std(deadline)) => true,
        }
    }
}

/// The async daemon of a free `async fn tick()` (no state): each tick awaits the function. Used
/// by the code `#[daemon]` generates; not public API.
#[doc(hidden)]
pub struct FnAsyncDaemon<F>(pub F);

impl<F, R> AsyncDaemon for FnAsyncDaemon<F>
where
    F: AsyncFnMut(&Context) -> R,
    R: crate::__private::TickReturn,
{
    type Error = R::Error;
    async fn tick(&mut self, ctx: &Context) -> Result<(), R::Error> {
        (self.0)(ctx).await.into_result()
    }
}

/// The future of an async `tick` with a written return type, as `#[daemon]` forwards it: the
/// user's future, its output turned into a `Result` ([`TickReturn`](crate::__private::TickReturn)).
/// A named type rather than an `async` block, so that a wrong return type is one error, on the
/// type the user wrote (an `impl Future` in the signature would report it a second time, from
/// its desugaring). Used by the code `#[daemon]` generates; not public API.
#[doc(hidden)]
pub struct IntoResult<F>(F);

impl<F> IntoResult<F> {
    /// Wrap the user's tick future.
    pub fn new(future: F) -> IntoResult<F> {
        IntoResult(future)
    }
}

impl<F, R> Future for IntoResult<F>
where
    F: Future<Output = R>,
    R: crate::__private::TickReturn,
{
    type Output = Result<(), R::Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field: `IntoResult` never moves it out, has no
        // `Drop` and no `Unpin` impl of its own, so the field stays pinned while `self` is.
        let future = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        future.poll(cx).map(crate::__private::TickReturn::into_result)
    }
}
