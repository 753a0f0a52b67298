//! A test daemon for the logging tests, configured by environment variables. Common variables:
//! see `simple_daemon_tests::builder_from_env` (`SD_LOG_DIR`, `SD_MODE`, `SD_STREAM`). The tick
//! interval is a fixed 20 ms and there is no stop timeout (no `SD_INTERVAL_MS`,
//! `SD_STOP_TIMEOUT_MS`). Its own:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SD_LOG_NAME` | `log_name` | `logd.log` |
//! | `SD_MAX_SIZE`, `SD_MAX_FILES` | `max_log_size`, `max_log_files` | 1 MiB, 2 |
//! | `SD_BUFFERED` | set to `1`: `buffered` | off |
//! | `SD_ROTATE_EVERY` | `rotate_every` (`1h`, `1d`) | none |
//! | `SD_COMPRESS` | set: `compress` | off |
//! | `SD_SYSLOG_SOCKET` | turns `syslog` on, at this socket | off |
//! | `SD_FORMAT` | `log_format` | the seed's |
//! | `SD_THREADS`, `SD_LINES` | threads started by `new()`, each logging `t<t> i<i> ...` lines | 0, 0 |
//! | `SD_FIRST_THREAD` | the number of the first of those threads (so two processes log different `t<t>`) | 0 |
//! | `SD_PACE` | those threads sleep 1 ms every this many lines | no pause |
//! | `SD_TICK_LOG` | set: each tick (every 20 ms) logs `tick <n>` (INFO), `debug <n>`, `warn <n>`, `error <n>` | quiet ticks |
//! | `SD_PANIC` | `1`: the first tick panics with a two-line message; `display`: it panics inside the `Display` of a message being logged | no panic |
//!
//! When every thread is done, `ALL DONE <lines>` is logged. The daemon is named `logd`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use simple_daemon::log::{debug, error, info, warn};
use simple_daemon::{Context, Daemon, Exit};
use simple_daemon_tests::{builder_from_env, env_num, env_var};

struct Worker {
    n: u64,
    tick_log: bool,
    panic: Option<String>,
}

/// A message whose formatting panics: the panic hook then logs while this thread's record is
/// half formatted.
struct Exploding;

impl std::fmt::Display for Exploding {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("boom in Display\nsecond line of the panic");
    }
}

impl Daemon for Worker {
    type Error = std::convert::Infallible;

    fn tick(&mut self, _ctx: &Context) -> Result<(), Self::Error> {
        self.n += 1;
        let n = self.n;
        match self.panic.as_deref() {
            Some("display") => info!("about to explode: {Exploding}"),
            Some(_) => panic!("boom in tick {n}\nsecond line of the panic"),
            None => {}
        }
        if self.tick_log {
            info!("tick {n}");
            debug!("debug {n}");
            warn!("warn {n}");
            error!("error {n}");
        }
        Ok(())
    }
}

/// The lines the threads log: a payload that makes a line about 90 bytes.
const PAYLOAD: &str = "the quick brown fox jumps over the lazy dog";

fn spawn_writers(first: usize, threads: usize, lines: u64, pace: u64) {
    let left = Arc::new(AtomicUsize::new(threads));
    for t in first..first + threads {
        let left = Arc::clone(&left);
        std::thread::spawn(move || {
            for i in 0..lines {
                info!("t{t} i{i} {PAYLOAD}");
                if pace > 0 && i % pace == pace - 1 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                info!("ALL DONE {}", lines * threads as u64);
            }
        });
    }
}

fn main() -> Exit {
    let mut b = builder_from_env("logd")
        .interval(Duration::from_millis(20))
        .log_name(env_var("SD_LOG_NAME").unwrap_or_else(|| "logd.log".into()))
        .buffered(env_var("SD_BUFFERED").is_some());
    if let Some(n) = env_num("SD_MAX_SIZE") {
        b = b.max_log_size(n);
    }
    if let Some(n) = env_num("SD_MAX_FILES") {
        b = b.max_log_files(n);
    }
    if let Some(every) = env_var("SD_ROTATE_EVERY").and_then(|e| e.parse().ok()) {
        b = b.rotate_every(every);
    }
    if env_var("SD_COMPRESS").is_some() {
        b = b.compress(true);
    }
    if let Some(sock) = env_var("SD_SYSLOG_SOCKET") {
        b = b.syslog(true).syslog_socket(sock);
    }
    if let Some(f) = env_var("SD_FORMAT") {
        b = b.log_format(f);
    }
    b.run_with(|| {
        spawn_writers(
            env_num("SD_FIRST_THREAD").unwrap_or(0),
            env_num("SD_THREADS").unwrap_or(0),
            env_num("SD_LINES").unwrap_or(0),
            env_num("SD_PACE").unwrap_or(0),
        );
        Ok::<_, std::convert::Infallible>(Worker {
            n: 0,
            tick_log: env_var("SD_TICK_LOG").is_some(),
            panic: env_var("SD_PANIC"),
        })
    })
}
