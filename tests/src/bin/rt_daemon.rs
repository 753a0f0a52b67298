//! A test daemon for the stop-ladder tests, configured by environment variables. The daemon is
//! named `RtDaemon`. Common variables: see `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`,
//! which this daemon requires, `SD_MODE`, `SD_STREAM`) and `simple_daemon_tests::timing_from_env`
//! (`SD_INTERVAL_MS`, `SD_STOP_TIMEOUT_MS`; in the `guard` form `SD_INTERVAL_MS` is also the
//! loop's sleep, 60 s when unset). Its own:
//!
//! | variable | values | default |
//! |---|---|---|
//! | `SD_FORM` | `run` (a [`Daemon`]), `guard` (the hand-written loop) | `run` |
//! | `SD_TICK` | `quick`, `sleep:<ms>`, `block` (60 s sleep), `lock` (blocked on a held mutex), `read` (blocked on a pipe), `error:<n>`, `panic:<n>`, `ctx_sleep` (60 s `Context::sleep`) | `quick` |
//! | `SD_NEW` | `ok`, `error` | `ok` |
//! | `SD_STOP_PANIC`, `SD_RELOAD_PANIC` | set: `on_stop` / `on_reload` panic | unset |
//! | `SD_GUARD_BG_SLEEP` | set (`guard` form): another thread sleeps 60 s on the guard meanwhile | unset |
//! | `SD_GUARD_TICKS` | `<n>` (`guard` form): the loop ends by itself after n ticks, the guard is dropped, and the program works on for 60 s without a daemon | unset |
//! | `SD_QUIET_HOOKS` | set: `on_stop` and `on_reload` log nothing | unset |
//! | `SD_GUARD_RELOAD` | set (`guard` form): each turn of the loop asks `Running::reload_requested` first, and takes a reload by working `SD_RELOAD_MS` (default 0), then logging `reload taken` | unset |
//!
//! Each tick logs `tick <n> start` and `tick <n> end`; the hooks log `on_stop ran` and
//! `on_reload ran`.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_ms, env_num, env_var, timing_from_env};

struct Worker {
    n: u64,
    tick: String,
    held: Arc<Mutex<()>>,
}

enum Failure {
    Tick(u64),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Tick(n) => write!(f, "tick {n} could not reach the upstream"),
        }
    }
}

impl Worker {
    fn work(&mut self, ctx: &Context) -> Result<(), Failure> {
        self.n += 1;
        let n = self.n;
        info!("tick {n} start");
        let (what, arg) = self.tick.split_once(':').unwrap_or((self.tick.as_str(), ""));
        let arg: u64 = arg.parse().unwrap_or(0);
        match what {
            "sleep" => std::thread::sleep(Duration::from_millis(arg)),
            "block" => std::thread::sleep(Duration::from_secs(60)),
            "ctx_sleep" => {
                ctx.sleep(Duration::from_secs(60));
            }
            "lock" => {
                let held = Arc::clone(&self.held);
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _g = held.lock();
                    let _ = tx.send(());
                    std::thread::sleep(Duration::from_secs(3600));
                });
                let _ = rx.recv();
                let _g = self.held.lock();
            }
            "read" => {
                let mut fds = [0; 2];
                // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
                unsafe { libc::pipe(fds.as_mut_ptr()) };
                // SAFETY: fds[0] is a fresh pipe read end owned by nobody else.
                let mut r = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
                let mut b = [0u8; 1];
                let _ = r.read(&mut b);
            }
            "error" if n >= arg => return Err(Failure::Tick(n)),
            "panic" if n >= arg => panic!("tick {n} found the queue corrupted"),
            _ => {}
        }
        info!("tick {n} end");
        Ok(())
    }
}

impl Daemon for Worker {
    type Error = Failure;
    fn tick(&mut self, ctx: &Context) -> Result<(), Failure> {
        self.work(ctx)
    }
    fn on_stop(&mut self) {
        if env_var("SD_QUIET_HOOKS").is_none() {
            info!("on_stop ran");
        }
        if env_var("SD_STOP_PANIC").is_some() {
            panic!("on_stop failed to close the connection");
        }
    }
    fn on_reload(&mut self) {
        if env_var("SD_QUIET_HOOKS").is_none() {
            info!("on_reload ran");
        }
        if env_var("SD_RELOAD_PANIC").is_some() {
            panic!("on_reload could not parse the new configuration");
        }
    }
}

fn main() -> Exit {
    let b = timing_from_env(builder_from_env("RtDaemon"));
    let mut worker = Worker {
        n: 0,
        tick: env_var("SD_TICK").unwrap_or_else(|| "quick".into()),
        held: Arc::new(Mutex::new(())),
    };
    if env_var("SD_FORM").as_deref() == Some("guard") {
        let daemon = match b.start() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("rt_daemon: {e}");
                return Exit::from(e);
            }
        };
        let interval = env_ms("SD_INTERVAL_MS").unwrap_or(Duration::from_secs(60));
        let ticks: Option<u64> = env_num("SD_GUARD_TICKS");
        let exit = std::thread::scope(|s| {
            if env_var("SD_GUARD_BG_SLEEP").is_some() {
                s.spawn(|| daemon.sleep(Duration::from_secs(60)));
                // Let it be asleep before the loop's own sleeps start.
                std::thread::sleep(Duration::from_millis(100));
            }
            let reload_work = env_ms("SD_RELOAD_MS").unwrap_or(Duration::ZERO);
            let asks_reload = env_var("SD_GUARD_RELOAD").is_some();
            while !daemon.interrupted() {
                if asks_reload && daemon.reload_requested() {
                    std::thread::sleep(reload_work);
                    info!("reload taken");
                }
                if let Err(e) = worker.work(daemon.context()) {
                    simple_daemon::log::error!("{e}");
                    return Exit::Failed;
                }
                if ticks.is_some_and(|t| worker.n >= t) {
                    break;
                }
                daemon.sleep(interval);
            }
            Exit::Stopped
        });
        if ticks.is_some() {
            // The program works on after its daemon ended.
            drop(daemon);
            std::thread::sleep(Duration::from_secs(60));
        }
        return exit;
    }
    if env_var("SD_NEW").as_deref() == Some("error") {
        return b.run_with(|| Err::<Worker, _>("cannot connect to the database at db:5432"));
    }
    b.run(worker)
}
