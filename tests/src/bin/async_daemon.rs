//! A test daemon for the async stop ladder (feature `tokio`), configured by environment
//! variables. The daemon is named `AsyncDaemon`. Common variables: see
//! `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`) and
//! `simple_daemon_tests::timing_from_env` (`SD_INTERVAL_MS`, `SD_STOP_TIMEOUT_MS`). Its own:
//!
//! | variable | values | default |
//! |---|---|---|
//! | `SD_FORM` | `run` (`run_tokio`: the daemon builds the runtime), `awaited` (`run_async` inside the program's own runtime) | `run` |
//! | `SD_FLAVOR` | `current_thread`, `multi_thread` | multi-thread |
//! | `SD_TICK` | `quick`, `sleep:<ms>` (an async sleep), `await` (a 60 s async sleep, with a local whose `Drop` logs `tick local dropped`), `block` (a 60 s `std::thread::sleep`), `stopped` (`select!` of `Context::stopped()` and a 60 s sleep), `ctx_sleep` (60 s `Context::sleep_async`), `status` (`Context::status("polled <n>")`), `error:<n>`, `panic:<n>` | `quick` |
//! | `SD_NEW` | `sleep:<ms>`: an async `new` that logs `new start`, awaits that sleep holding a local whose `Drop` logs `new local dropped`, then logs `new end` | none (the state is given) |
//! | `SD_ON_STOP` | `sleep:<ms>`: `on_stop` logs `on_stop start` and awaits that sleep holding a local whose `Drop` logs `on_stop local dropped` before `on_stop ran` | a `yield_now` |
//! | `SD_SPAWN` | comma-separated, spawned by the first tick: `endless` (a task that loops forever, its `Drop` logs `endless task dropped`), `blocking` (`spawn_blocking` of a 1 h sleep), `panic` (a task that panics), `token` (a task that logs `task saw the token` once `Context::token()` is cancelled) | none |
//!
//! Each tick logs `tick <n> start` and `tick <n> end`; `on_stop` logs `on_stop ran`,
//! `on_reload` logs `on_reload ran`, and dropping the state logs `state dropped`.

use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{AsyncDaemon, Context, Exit, Flavor};
use simple_daemon_tests::{builder_from_env, env_var, timing_from_env};

/// Logs `what` when dropped: how the tests see what a cancellation dropped.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        info!("{} dropped", self.0);
    }
}

struct Worker {
    n: u64,
    tick: String,
    spawn: String,
    on_stop_ms: Option<u64>,
    _noisy: Noisy,
}

impl AsyncDaemon for Worker {
    type Error = String;

    async fn tick(&mut self, ctx: &Context) -> Result<(), String> {
        self.n += 1;
        let n = self.n;
        info!("tick {n} start");
        if n == 1 {
            spawn(&self.spawn, ctx);
        }
        let (what, arg) = self.tick.split_once(':').unwrap_or((self.tick.as_str(), ""));
        let arg: u64 = arg.parse().unwrap_or(0);
        match what {
            "sleep" => tokio::time::sleep(Duration::from_millis(arg)).await,
            "await" => {
                let _local = Noisy("tick local");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            "block" => std::thread::sleep(Duration::from_secs(60)),
            "stopped" => {
                tokio::select! {
                    () = ctx.stopped() => info!("tick saw stopped"),
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
            }
            "ctx_sleep" => {
                let slept = ctx.sleep_async(Duration::from_secs(60)).await;
                info!("sleep_async returned {slept}");
            }
            "status" => ctx.status(&format!("polled {n}")),
            "error" if n >= arg => return Err(format!("tick {n} could not reach the upstream")),
            "panic" if n >= arg => panic!("tick {n} found the queue corrupted"),
            _ => {}
        }
        info!("tick {n} end");
        Ok(())
    }

    async fn on_stop(&mut self) {
        match self.on_stop_ms {
            Some(ms) => {
                info!("on_stop start");
                let _local = Noisy("on_stop local");
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            None => tokio::task::yield_now().await,
        }
        info!("on_stop ran");
    }

    async fn on_reload(&mut self) {
        info!("on_reload ran");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        info!("state dropped");
    }
}

/// The tasks of `SD_SPAWN`.
fn spawn(what: &str, ctx: &Context) {
    for task in what.split(',').filter(|t| !t.is_empty()) {
        match task {
            "endless" => {
                tokio::spawn(async {
                    let _noisy = Noisy("endless task");
                    loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                });
            }
            "blocking" => {
                tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600)));
            }
            "panic" => {
                tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    panic!("the task lost its connection");
                });
            }
            "token" => {
                let token = ctx.token();
                tokio::spawn(async move {
                    token.cancelled().await;
                    info!("task saw the token");
                });
            }
            other => info!("unknown SD_SPAWN task {other:?}"),
        }
    }
}

fn main() -> Exit {
    let mut b = timing_from_env(builder_from_env("AsyncDaemon"));
    match env_var("SD_FLAVOR").as_deref() {
        Some("current_thread") => b = b.flavor(Flavor::CurrentThread),
        Some("multi_thread") => b = b.flavor(Flavor::MultiThread),
        _ => {}
    }
    let worker = Worker {
        n: 0,
        tick: env_var("SD_TICK").unwrap_or_else(|| "quick".into()),
        spawn: env_var("SD_SPAWN").unwrap_or_default(),
        on_stop_ms: sleep_ms("SD_ON_STOP"),
        _noisy: Noisy("state field"),
    };
    let new_ms = sleep_ms("SD_NEW");
    // The state, built by an async `new` when `SD_NEW` asks for one.
    let new = move || async move {
        if let Some(ms) = new_ms {
            info!("new start");
            let _local = Noisy("new local");
            tokio::time::sleep(Duration::from_millis(ms)).await;
            info!("new end");
        }
        Ok::<Worker, String>(worker)
    };
    if env_var("SD_FORM").as_deref() == Some("awaited") {
        let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("async_daemon: cannot build the runtime: {e}");
                return Exit::Failed;
            }
        };
        let exit = rt.block_on(async { b.run_async_with(new).await });
        info!("run_async returned");
        return exit;
    }
    b.run_tokio_with(new)
}

/// The milliseconds of a `sleep:<ms>` variable.
fn sleep_ms(var: &str) -> Option<u64> {
    env_var(var)?.strip_prefix("sleep:")?.parse().ok()
}
