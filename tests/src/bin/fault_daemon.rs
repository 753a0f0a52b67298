//! A test daemon for the fault suite (`tests/tests/faults*.rs`), configured by environment
//! variables. Every builder setting can be given, so bad input reaches the runtime as it would
//! from a user; the load options make it log heavily with lines whose loss can be counted.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `FD_LOG_DIR` | `log_path` | unset (the runtime's default place) |
//! | `FD_NAME` | the daemon's name | `FaultDaemon` |
//! | `FD_MODE` | `passive`, `aggressive` | `passive` |
//! | `FD_INTERVAL_MS`, `FD_STOP_TIMEOUT_MS`, `FD_WATCHDOG_MS` | `interval`, `stop_timeout`, `watchdog` (ms, or `max` for `Duration::MAX`) | unset |
//! | `FD_LOG_NAME`, `FD_LOG_FORMAT` | `log_name`, `log_format` | unset |
//! | `FD_MAX_LOG_SIZE`, `FD_MAX_LOG_FILES` | `max_log_size`, `max_log_files` (bytes, count) | unset |
//! | `FD_LEVEL` | `error` ... `trace`, `off` | unset |
//! | `FD_SYSLOG` | a socket path: `syslog(true)` with `syslog_socket(path)` | unset |
//! | `FD_STREAM`, `FD_BUFFERED` | set: `stream(true)`, `buffered(true)` | unset |
//! | `FD_NEW_MS` | `new()` sleeps this long (logging `new started` first, `new done` after) | 0 |
//! | `FD_NEW_WAIT` | `new()` waits until this file exists (same lines) | unset |
//! | `FD_RELOAD_MS` | `on_reload` sleeps this long between `on_reload ran` and `on_reload done` | 0 |
//! | `FD_RELOAD_PANIC` | set: `on_reload` panics | unset |
//! | `FD_TICK` | `fail:<text>` (returns `Err(text)`), `failon:<file>` (returns `Err("the tick gave up")` once the file exists), `panic:<file>` (panics once the file exists), `quick`, `sleep:<ms>`, `idle` (60 s `Context::sleep`), `forever` (never returns; logs `tick <n> beat <k>` every 20 ms), `wait:<file>` (returns once the file exists), `records:<file>` (tick 1 logs `rec <i> <body>` for each word of the file, `<len>` (`r` times len) or `<len>:<prefix>:<char>` (prefix, then char up to len bytes), then idles) | `quick` |
//! | `FD_FLOOD` | `<threads>:<max lines>`: threads started by `new()` that log `flood t=<t> n=<n> <pad>` flat out | unset |
//! | `FD_NEW_FAIL` | `new()` returns this text as its `Err` | unset |
//! | `FD_OTHER_LOGGER` | set: install a `log` logger of its own before the daemon starts (as `env_logger::init()` would) | unset |
//! | `FD_RAISE_AFTER` | set: when the run ends with 78 (a failed start), `raise(SIGTERM)`, then log-free `exit(3)` if still alive 2 s later | unset |
//! | `FD_FLOOD_TRACING` | set: flood lines with an odd `n` are `tracing` events (`tracing::info!`), the others `log` records, the same text | unset |
//! | `FD_COUNTERS` | a file of 8 bytes per flood thread, shared-mapped: thread `t` stores there how many of its log calls have RETURNED, so a test can count lost lines even after `_exit` | unset |
//!
//! Each tick logs `tick <n> start` / `tick <n> end` (except `records`); `on_stop` stops and joins
//! the flood threads, then logs `flood t=<t> wrote <count>` for each and `on_stop ran`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use simple_daemon::log::{info, LevelFilter};
use simple_daemon::{Context, Daemon, Exit, Mode, SimpleDaemon};
use simple_daemon_tests::{env_num, env_var};

/// Milliseconds, or `max` for `Duration::MAX` (to probe overflow handling); the `max` is why
/// this daemon does not use `simple_daemon_tests::env_ms`.
fn env_ms_or_max(name: &str) -> Option<Duration> {
    match env_var(name)?.as_str() {
        "max" => Some(Duration::MAX),
        v => v.parse().ok().map(Duration::from_millis),
    }
}

/// The padding of flood line `n` of thread `t`: its length and letter follow from `(t, n)`, so a
/// reader can tell an intact line from a cut or mixed one.
pub fn flood_pad(t: u64, n: u64) -> String {
    let len = ((n * 7 + t * 13) % 97) as usize;
    let c = char::from(b'a' + (n % 26) as u8);
    std::iter::repeat_n(c, len).collect()
}

/// Counters in a shared file mapping: they survive the process however it ends.
struct Counters {
    ptr: *mut AtomicU64,
    len: usize,
}

// SAFETY: the mapping is only accessed through `AtomicU64`s and lives until the process ends.
unsafe impl Send for Counters {}
// SAFETY: as above.
unsafe impl Sync for Counters {}

impl Counters {
    fn open(path: &str, len: usize) -> Counters {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .expect("open counters file");
        f.set_len((len * 8) as u64).expect("size counters file");
        // SAFETY: a fresh shared mapping of a file of exactly `len * 8` bytes; it is never
        // unmapped (the counters live as long as the process).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "mmap counters");
        Counters { ptr: ptr.cast(), len }
    }

    fn set(&self, t: usize, v: u64) {
        if t < self.len {
            // SAFETY: `t < len` and the mapping holds `len` aligned (page-aligned base) u64s.
            unsafe { &*self.ptr.add(t) }.store(v, Ordering::Release);
        }
    }
}

struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

fn start_flood(spec: &str) -> Flood {
    let (threads, max) = spec.split_once(':').unwrap_or((spec, "1000000"));
    let threads: usize = threads.parse().unwrap_or(1);
    let max: u64 = max.parse().unwrap_or(1_000_000);
    let counters = env_var("FD_COUNTERS").map(|p| Arc::new(Counters::open(&p, threads)));
    let stop = Arc::new(AtomicBool::new(false));
    let tracing = env_var("FD_FLOOD_TRACING").is_some();
    let handles = (0..threads)
        .map(|t| {
            let stop = Arc::clone(&stop);
            let counters = counters.clone();
            std::thread::Builder::new()
                .name(format!("flood-{t}"))
                .spawn(move || {
                    let mut n = 0;
                    while n < max && !stop.load(Ordering::Relaxed) {
                        if tracing && n % 2 == 1 {
                            tracing::info!("flood t={t} n={n} {}", flood_pad(t as u64, n));
                        } else {
                            info!("flood t={t} n={n} {}", flood_pad(t as u64, n));
                        }
                        n += 1;
                        if let Some(c) = &counters {
                            c.set(t, n);
                        }
                    }
                    n
                })
                .expect("spawn flood thread")
        })
        .collect();
    Flood {
        stop,
        threads: handles,
    }
}

/// The body of a `records` line: `<len>` is `len` times `r`; `<len>:<prefix>:<char>` is
/// `prefix` then `char` repeated up to `len` bytes (for cuts inside multi-byte characters).
fn record_body(spec: &str) -> String {
    let mut parts = spec.splitn(3, ':');
    let len: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    match (parts.next(), parts.next().and_then(|c| c.chars().next())) {
        (Some(prefix), Some(c)) => {
            let mut body = prefix.to_owned();
            while body.len() + c.len_utf8() <= len {
                body.push(c);
            }
            body
        }
        _ => "r".repeat(len),
    }
}

struct Worker {
    n: u64,
    tick: String,
    flood: Option<Flood>,
}

impl Daemon for Worker {
    type Error = String;

    fn tick(&mut self, ctx: &Context) -> Result<(), Self::Error> {
        self.n += 1;
        let n = self.n;
        let (what, arg) = self.tick.split_once(':').unwrap_or((self.tick.as_str(), ""));
        if what == "records" {
            if n == 1 {
                let lens = std::fs::read_to_string(arg).unwrap_or_default();
                for (i, spec) in lens.split_whitespace().enumerate() {
                    info!("rec {i} {}", record_body(spec));
                }
                info!("records done");
            }
            ctx.sleep(Duration::from_secs(60));
            return Ok(());
        }
        info!("tick {n} start");
        match what {
            "fail" => return Err(arg.to_owned()),
            "failon" => {
                while !std::path::Path::new(arg).exists() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return Err("the tick gave up".to_owned());
            }
            "panic" => {
                while !std::path::Path::new(arg).exists() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                panic!("the tick gave up");
            }
            "sleep" => std::thread::sleep(Duration::from_millis(arg.parse().unwrap_or(0))),
            "wait" => {
                while !std::path::Path::new(arg).exists() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            "idle" => {
                ctx.sleep(Duration::from_secs(60));
            }
            "forever" => {
                // Never returns and never looks at the context: only an escalation ends it.
                for k in 0.. {
                    info!("tick {n} beat {k}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            _ => {}
        }
        info!("tick {n} end");
        Ok(())
    }

    fn on_stop(&mut self) {
        if let Some(flood) = self.flood.take() {
            flood.stop.store(true, Ordering::Relaxed);
            for (t, h) in flood.threads.into_iter().enumerate() {
                let wrote = h.join().unwrap_or(0);
                info!("flood t={t} wrote {wrote}");
            }
        }
        info!("on_stop ran");
    }

    fn on_reload(&mut self) {
        info!("on_reload ran");
        if let Some(d) = env_ms_or_max("FD_RELOAD_MS") {
            std::thread::sleep(d);
            info!("on_reload done");
        }
        if env_var("FD_RELOAD_PANIC").is_some() {
            panic!("on_reload could not parse the new configuration");
        }
    }
}

fn builder() -> SimpleDaemon {
    let mut b = SimpleDaemon::new(env_var("FD_NAME").unwrap_or_else(|| "FaultDaemon".into()));
    if let Some(dir) = env_var("FD_LOG_DIR") {
        b = b.log_path(dir);
    }
    if env_var("FD_MODE").as_deref() == Some("aggressive") {
        b = b.mode(Mode::Aggressive);
    }
    if let Some(i) = env_ms_or_max("FD_INTERVAL_MS") {
        b = b.interval(i);
    }
    if let Some(t) = env_ms_or_max("FD_STOP_TIMEOUT_MS") {
        b = b.stop_timeout(t);
    }
    if let Some(w) = env_ms_or_max("FD_WATCHDOG_MS") {
        b = b.watchdog(w);
    }
    if let Some(n) = env_var("FD_LOG_NAME") {
        b = b.log_name(n);
    }
    if let Some(f) = std::env::var_os("FD_LOG_FORMAT") {
        b = b.log_format(f.to_string_lossy());
    }
    if let Some(s) = env_num("FD_MAX_LOG_SIZE") {
        b = b.max_log_size(s);
    }
    if let Some(c) = env_num("FD_MAX_LOG_FILES") {
        b = b.max_log_files(c);
    }
    if let Some(l) = env_var("FD_LEVEL") {
        b = b.level(l.parse().unwrap_or(LevelFilter::Debug));
    }
    if let Some(s) = env_var("FD_SYSLOG") {
        b = b.syslog(true).syslog_socket(s);
    }
    if env_var("FD_STREAM").is_some() {
        b = b.stream(true);
    }
    if env_var("FD_BUFFERED").is_some() {
        b = b.buffered(true);
    }
    b
}

/// A `log` logger that is not the daemon's, for `FD_OTHER_LOGGER`.
struct OtherLogger;

impl simple_daemon::log::Log for OtherLogger {
    fn enabled(&self, _: &simple_daemon::log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &simple_daemon::log::Record<'_>) {}
    fn flush(&self) {}
}

fn main() -> Exit {
    if env_var("FD_OTHER_LOGGER").is_some() {
        simple_daemon::log::set_logger(&OtherLogger).expect("the first logger");
    }
    let exit = run();
    if exit == Exit::Config && env_var("FD_RAISE_AFTER").is_some() {
        // SAFETY: raise(3) has no memory-safety preconditions.
        unsafe { libc::raise(libc::SIGTERM) };
        std::thread::sleep(Duration::from_secs(2));
        std::process::exit(3);
    }
    exit
}

fn run() -> Exit {
    builder().run_with(|| {
        if let Some(d) = env_ms_or_max("FD_NEW_MS") {
            info!("new started");
            std::thread::sleep(d);
            info!("new done");
        }
        if let Some(flag) = env_var("FD_NEW_WAIT") {
            info!("new started");
            while !std::path::Path::new(&flag).exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
            info!("new done");
        }
        if let Some(e) = env_var("FD_NEW_FAIL") {
            return Err(e);
        }
        Ok::<_, String>(Worker {
            n: 0,
            tick: env_var("FD_TICK").unwrap_or_else(|| "quick".into()),
            flood: env_var("FD_FLOOD").map(|s| start_flood(&s)),
        })
    })
}
