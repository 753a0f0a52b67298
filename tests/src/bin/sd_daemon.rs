//! A test daemon for the systemd tests (notify peer, systemd in nspawn). It starts through
//! `SimpleDaemon::main`, the function `#[daemon]`'s generated `main` calls, so it has
//! the generated binary's command line (`--print-systemd-unit`, `--help`, `--version`).
//! Configured by environment variables. Common variables: see
//! `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`) and
//! `simple_daemon_tests::timing_from_env` (`SD_INTERVAL_MS`, `SD_STOP_TIMEOUT_MS`). Its own:
//!
//! | variable | values | default |
//! |---|---|---|
//! | `SD_NAME` | the daemon's name (syslog tag) | `SdDaemon` |
//! | `SD_WATCHDOG_MS` | `WatchdogSec=` of the printed unit | none |
//! | `SD_SYSLOG` | set: log to syslog | unset |
//! | `SD_SYSLOG_SOCKET` | the syslog socket (does not turn syslog on by itself) | `/dev/log` |
//! | `SD_JOURNAL` | set: log to the journal's native socket | unset |
//! | `SD_JOURNAL_SOCKET` | the journal socket (does not turn journal on by itself) | `/run/systemd/journal/socket` |
//! | `SD_NEW_MS` | building the state takes this long (logs `building state`, `state built`) | 0 |
//! | `SD_STATUS` | each tick sends `STATUS=tick <n>: <text>` | unset |
//! | `SD_TICK` | `quick`, `sleep:<ms>`, `hang:<n>` (tick n and later sleep an hour), `error:<n>`, `keepalive:<ms>` (works that long, calling `Context::keep_alive` every 50 ms), `stop:<n>` (tick n calls `Context::stop`, then ends), `journal:<kb>` (logs `journal error`, `journal warn`, `journal info`, `journal debug` at those levels, `journal multi` + two more lines, `journal fields` with `user = 42, path = "/x", ok = true`, and `journal big` followed by `<kb>` KiB of `x`), `burst:<n>` (logs `burst <tick>.<i>` for i in 1..=n) | `quick` |
//! | `SD_SHOW_ENV` | set: each tick logs `NOTIFY_SOCKET=<value>` (or `NOTIFY_SOCKET unset`) | unset |
//! | `SD_RELOAD_MS` | `on_reload` works this long before it logs `on_reload ran` (at its end) | 0 |
//!
//! Each tick logs `tick <n> start` and `tick <n> end`; the hooks log `on_stop ran` and
//! `on_reload ran` (at their end).

use std::convert::Infallible;
use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_ms, env_var, timing_from_env};

struct Worker {
    n: u64,
    tick: String,
    status: Option<String>,
    show_env: bool,
    reload_work: Option<Duration>,
}

impl Daemon for Worker {
    type Error = String;
    fn tick(&mut self, ctx: &Context) -> Result<(), String> {
        self.n += 1;
        let n = self.n;
        info!("tick {n} start");
        if self.show_env {
            match std::env::var("NOTIFY_SOCKET") {
                Ok(v) => info!("NOTIFY_SOCKET={v}"),
                Err(_) => info!("NOTIFY_SOCKET unset"),
            }
        }
        if let Some(s) = &self.status {
            ctx.status(&format!("tick {n}: {s}"));
        }
        let (what, arg) = self.tick.split_once(':').unwrap_or((self.tick.as_str(), ""));
        let arg: u64 = arg.parse().unwrap_or(0);
        match what {
            "sleep" => std::thread::sleep(Duration::from_millis(arg)),
            "hang" if n >= arg => std::thread::sleep(Duration::from_secs(3600)),
            "error" if n >= arg => return Err(format!("tick {n} could not reach the upstream at db:5432")),
            "keepalive" => {
                let end = std::time::Instant::now() + Duration::from_millis(arg);
                while std::time::Instant::now() < end {
                    ctx.keep_alive();
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            "stop" if n == arg => ctx.stop(),
            "journal" => {
                simple_daemon::log::error!("journal error {n}");
                simple_daemon::log::warn!("journal warn {n}");
                info!("journal info {n}");
                simple_daemon::log::debug!("journal debug {n}");
                info!("journal multi {n}\nsecond line\nthird line");
                info!(user = 42, path = "/x", ok = true; "journal fields {n}");
                info!(
                    "journal big {n} {}",
                    "x".repeat(usize::try_from(arg).unwrap_or(0) * 1024)
                );
            }
            "burst" => {
                for i in 1..=arg {
                    info!("burst {n}.{i}");
                }
            }
            _ => {}
        }
        info!("tick {n} end");
        Ok(())
    }
    fn on_stop(&mut self) {
        info!("on_stop ran");
    }
    fn on_reload(&mut self) {
        if let Some(d) = self.reload_work {
            std::thread::sleep(d);
        }
        info!("on_reload ran");
    }
}

fn main() -> Exit {
    let name = env_var("SD_NAME").unwrap_or_else(|| "SdDaemon".into());
    let mut b = timing_from_env(builder_from_env(name));
    if let Some(w) = env_ms("SD_WATCHDOG_MS") {
        b = b.watchdog(w);
    }
    b = b.syslog(env_var("SD_SYSLOG").is_some());
    if let Some(s) = env_var("SD_SYSLOG_SOCKET") {
        b = b.syslog_socket(s);
    }
    b = b.journal(env_var("SD_JOURNAL").is_some());
    if let Some(s) = env_var("SD_JOURNAL_SOCKET") {
        b = b.journal_socket(s);
    }
    b.version(env!("CARGO_PKG_VERSION")).main(|| {
        if let Some(d) = env_ms("SD_NEW_MS") {
            info!("building state");
            std::thread::sleep(d);
            info!("state built");
        }
        Ok::<_, Infallible>(Worker {
            n: 0,
            tick: env_var("SD_TICK").unwrap_or_else(|| "quick".into()),
            status: env_var("SD_STATUS"),
            show_env: env_var("SD_SHOW_ENV").is_some(),
            reload_work: env_ms("SD_RELOAD_MS"),
        })
    })
}
