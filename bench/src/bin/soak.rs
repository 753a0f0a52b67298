//! The soak: run a daemon for a long time at a tick every millisecond with logging, size
//! rotation and the admin listener scraped every second, and report its anonymous resident
//! memory (`RssAnon`) over time, with the heap the allocator hands out beside it.
//!
//! ```text
//! cargo run --release -p simple-daemon-bench --bin soak -- [--minutes N | --seconds N]
//!     [--warm-up-minutes W] [--sample-seconds S] [--no-admin]
//! ```
//!
//! Default 10 minutes, a warm-up of a third of the run (30 minutes from a 90-minute run on),
//! a sample every 60 s (every 10 s below 10 minutes). The daemon is this same binary started
//! as a child (`--child DIR PORT`): a passive `SimpleDaemon` with `interval = 1ms`,
//! `max_log_size = 64 KiB`, `max_log_files = 3`, `admin = 127.0.0.1:PORT`, logging one line per
//! tick. The child's global allocator counts the bytes it holds, and the child registers, on
//! the same `/metrics` page, `soak_heap_live_bytes` (bytes held through Rust's allocator),
//! `soak_heap_allocations` (allocations made so far) and glibc's `mallinfo2()` figures
//! (`soak_malloc_arena_bytes`: the heap got from the kernel by `brk`/arenas,
//! `soak_malloc_in_use_bytes`, `soak_malloc_free_bytes`, `soak_malloc_mmap_bytes`,
//! `soak_malloc_arenas`).
//!
//! The parent scrapes `/metrics` once a second (a real HTTP request over TCP, as Prometheus
//! would; `--no-admin`: no listener, no scrape, no heap figures) and, every sample, reads `/proc/PID/status` (`RssAnon`, `VmRSS`, `Threads`) and
//! `/proc/PID/fd`. At the end it prints the curve, the `RssAnon` growth from the end of the
//! warm-up to the end (goal: at most 16 KiB), stops the daemon with SIGTERM and checks it exits
//! 0 and that no log file passed the limit. It writes the verdict line to
//! `target/soak-last.md`, which the main bench's table shows. Exit status 1 when `RssAnon` grew
//! past the goal after the warm-up, the fds or threads grew, a scrape failed, or the stop
//! failed. Not run by the tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use simple_daemon::admin::prometheus_client;
use simple_daemon::{Context, Daemon, Exit, SimpleDaemon};
use simple_daemon_bench::proc_status;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

const MAX_LOG_SIZE: u64 = 64 * 1024;
const MAX_LOG_FILES: usize = 3;
/// The goal: `RssAnon` grows by at most this much after the warm-up.
const GOAL_KIB: u64 = 16;
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// The system allocator, counting the bytes held and the allocations made.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call goes to `System` with the caller's arguments unchanged; the counters are
// plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The heap figures, read at each scrape.
#[derive(Debug)]
struct Heap;

/// The number of glibc malloc arenas: `<heap nr=...>` entries of `malloc_info(3)`.
fn arenas() -> i64 {
    // SAFETY: open_memstream/malloc_info/fclose on a buffer we own and free.
    unsafe {
        let mut buf: *mut libc::c_char = std::ptr::null_mut();
        let mut len: libc::size_t = 0;
        let f = libc::open_memstream(&mut buf, &mut len);
        if f.is_null() {
            return -1;
        }
        let rc = libc::malloc_info(0, f);
        libc::fclose(f);
        if buf.is_null() {
            return -1;
        }
        let text = std::ffi::CStr::from_ptr(buf).to_string_lossy().into_owned();
        libc::free(buf.cast());
        if rc != 0 {
            return -1;
        }
        text.matches("<heap nr=").count() as i64
    }
}

impl Collector for Heap {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let mi = unsafe { libc::mallinfo2() };
        for (name, help, v) in [
            (
                "soak_heap_live_bytes",
                "Bytes held through Rust's allocator",
                LIVE.load(Ordering::Relaxed),
            ),
            (
                "soak_heap_allocations",
                "Allocations made so far",
                ALLOCS.load(Ordering::Relaxed) as i64,
            ),
            ("soak_malloc_arena_bytes", "mallinfo2 arena", mi.arena as i64),
            (
                "soak_malloc_in_use_bytes",
                "mallinfo2 uordblks",
                mi.uordblks as i64,
            ),
            ("soak_malloc_free_bytes", "mallinfo2 fordblks", mi.fordblks as i64),
            ("soak_malloc_mmap_bytes", "mallinfo2 hblkhd", mi.hblkhd as i64),
            ("soak_malloc_arenas", "malloc_info heaps", arenas()),
        ] {
            ConstGauge::new(v).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
        }
        Ok(())
    }
}

struct Ticker {
    n: u64,
}

impl Daemon for Ticker {
    type Error = std::convert::Infallible;
    fn tick(&mut self, _ctx: &Context) -> Result<(), Self::Error> {
        self.n += 1;
        simple_daemon::log::info!("soak tick {} with some payload to fill the log", self.n);
        Ok(())
    }
}

/// The soaked daemon; `port` 0: no admin listener.
fn child(dir: &str, port: &str) -> Exit {
    let daemon = SimpleDaemon::new("Soak")
        .log_path(dir)
        .interval(Duration::from_millis(1))
        .max_log_size(MAX_LOG_SIZE)
        .max_log_files(MAX_LOG_FILES);
    if port == "0" {
        return daemon.run(Ticker { n: 0 });
    }
    simple_daemon::admin::registry().register_collector(Box::new(Heap));
    daemon.admin(format!("127.0.0.1:{port}")).run(Ticker { n: 0 })
}

/// One sample of the child.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    at: Duration,
    rss_anon_kib: u64,
    rss_kib: u64,
    fds: usize,
    threads: u64,
    live: f64,
    allocs: f64,
    arena: f64,
    in_use: f64,
    mmap: f64,
    arenas: f64,
    ticks: f64,
}

fn sample(pid: u32, at: Duration, page: &str) -> Option<Sample> {
    Some(Sample {
        at,
        rss_anon_kib: proc_status(pid, "RssAnon:")?,
        rss_kib: proc_status(pid, "VmRSS:")?,
        threads: proc_status(pid, "Threads:")?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
        live: value(page, "soak_heap_live_bytes"),
        allocs: value(page, "soak_heap_allocations"),
        arena: value(page, "soak_malloc_arena_bytes"),
        in_use: value(page, "soak_malloc_in_use_bytes"),
        mmap: value(page, "soak_malloc_mmap_bytes"),
        arenas: value(page, "soak_malloc_arenas"),
        ticks: value(page, "simple_daemon_ticks_total{daemon=\"Soak\",result=\"ok\"}"),
    })
}

/// The value of the first sample of `page` whose name (with labels) starts with `name`.
fn value(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `GET /metrics` over a fresh connection; the body when the answer is 200.
fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

fn ticks_logged(log: &Path) -> u64 {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once("soak tick ")
                .and_then(|(_, r)| r.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn stop(child: &mut Child) -> Option<i32> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn print(s: &Sample) {
    let kib = |b: f64| b / 1024.0;
    println!(
        "  t={:>5}s  RssAnon {:>5} KiB  VmRSS {:>5} KiB  heap live {:>7.1} KiB  allocs {:>10}  malloc arena {:>6.0} KiB in use {:>6.1} KiB mmap {:>5.0} KiB arenas {:>2}  fds {:>3}  threads {:>2}  ticks {:>9}",
        s.at.as_secs(),
        s.rss_anon_kib,
        s.rss_kib,
        kib(s.live),
        s.allocs,
        kib(s.arena),
        kib(s.in_use),
        kib(s.mmap),
        s.arenas,
        s.fds,
        s.threads,
        s.ticks
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(19102, |a| a.port())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let dir = args.get(2).map_or(".", String::as_str);
        let port = args.get(3).map_or("19102", String::as_str);
        return std::process::ExitCode::from(child(dir, port).code());
    }
    let mut run_for = Duration::from_secs(600);
    let mut warm_up: Option<Duration> = None;
    let mut every: Option<Duration> = None;
    let mut admin = true;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--no-admin" {
            admin = false;
            continue;
        }
        let n: Option<u64> = it.next().and_then(|v| v.parse().ok());
        match (a.as_str(), n) {
            ("--minutes", Some(n)) => run_for = Duration::from_secs(n * 60),
            ("--seconds", Some(n)) => run_for = Duration::from_secs(n),
            ("--warm-up-minutes", Some(n)) => warm_up = Some(Duration::from_secs(n * 60)),
            ("--sample-seconds", Some(n)) if n > 0 => every = Some(Duration::from_secs(n)),
            _ => {
                eprintln!("usage: soak [--minutes N | --seconds N] [--warm-up-minutes W] [--sample-seconds S] [--no-admin]");
                return std::process::ExitCode::from(64);
            }
        }
    }
    let warm_up = warm_up.unwrap_or((run_for / 3).min(Duration::from_secs(1800)));
    let every = every.unwrap_or(if run_for < Duration::from_secs(600) {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(60)
    });
    let dir = std::env::temp_dir().join(format!("simple-daemon-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("soak: cannot create {}: {e}", dir.display());
        return std::process::ExitCode::from(1);
    }
    let log: PathBuf = dir.join("Soak.log");
    let port = if admin { free_port() } else { 0 };
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("soak: cannot find this binary");
        return std::process::ExitCode::from(1);
    };
    let mut daemon = match Command::new(exe)
        .arg("--child")
        .arg(&dir)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("soak: cannot start the daemon: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let pid = daemon.id();
    println!(
        "soak: daemon {pid}, tick every 1 ms, one log line per tick, max_log_size {MAX_LOG_SIZE} B x {MAX_LOG_FILES} backups, /metrics on 127.0.0.1:{port} scraped every {SCRAPE_EVERY:?}; {run_for:?}, growth measured after a {warm_up:?} warm-up, a sample every {every:?}"
    );
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let (mut scrapes, mut failed) = (0u64, 0u64);
    let mut page = String::new();
    let mut next_sample = Duration::ZERO;
    let mut dead = false;
    // A short settle for the listener to bind.
    std::thread::sleep(Duration::from_millis(300));
    if let Some(p) = scrape(port).filter(|_| admin) {
        scrapes += 1;
        page = p;
    }
    loop {
        let at = started.elapsed();
        if at >= next_sample {
            // Sampled before this second's scrape, so no connection thread is alive.
            match sample(pid, at, &page) {
                Some(s) => {
                    print(&s);
                    samples.push(s);
                }
                None => {
                    dead = true;
                    break;
                }
            }
            next_sample += every;
            if at >= run_for {
                break;
            }
        }
        match scrape(port) {
            _ if !admin => {}
            Some(p) => {
                scrapes += 1;
                page = p;
            }
            None => failed += 1,
        }
        let _ = std::io::stdout().flush();
        let next = (at + SCRAPE_EVERY).min(next_sample);
        std::thread::sleep(next.saturating_sub(started.elapsed()));
    }
    if dead {
        eprintln!("soak: the daemon died");
        let _ = daemon.kill();
        let _ = daemon.wait();
        return std::process::ExitCode::from(1);
    }
    let t1 = ticks_logged(&log);
    let code = stop(&mut daemon);
    let mut oversize = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        files += 1;
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_LOG_SIZE {
            oversize.push((e.file_name(), len));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (Some(first), Some(last)) = (samples.first().copied(), samples.last().copied()) else {
        eprintln!("soak: no sample");
        return std::process::ExitCode::from(1);
    };
    let warm = samples.iter().find(|s| s.at >= warm_up).copied().unwrap_or(last);
    let growth = last.rss_anon_kib as i64 - warm.rss_anon_kib as i64;
    let total = last.rss_anon_kib as i64 - first.rss_anon_kib as i64;
    let peak = samples.iter().map(|s| s.rss_anon_kib).max().unwrap_or(0);
    let fds_grew = last.fds > warm.fds;
    let threads_grew = last.threads > warm.threads;
    let over = growth > GOAL_KIB as i64;
    let verdict = format!(
        "RssAnon {} -> {} KiB over the first {} min (warm-up), then {} -> {} KiB over the next {} min: {:+} KiB (goal <= {GOAL_KIB} KiB: {}); peak {peak} KiB; heap held {:.1} -> {:.1} KiB; {} ticks ({:.0}/s), {scrapes} scrapes, {failed} failed",
        first.rss_anon_kib,
        warm.rss_anon_kib,
        warm.at.as_secs() / 60,
        warm.rss_anon_kib,
        last.rss_anon_kib,
        (last.at.saturating_sub(warm.at)).as_secs() / 60,
        growth,
        if over { "MISSED" } else { "met" },
        warm.live / 1024.0,
        last.live / 1024.0,
        t1,
        t1 as f64 / last.at.as_secs_f64(),
    );
    println!("| | start | end of warm-up | end | grew after warm-up |\n|---|---|---|---|---|");
    println!(
        "| RssAnon (KiB) | {} | {} | {} | {growth:+} (total {total:+}) |",
        first.rss_anon_kib, warm.rss_anon_kib, last.rss_anon_kib
    );
    println!(
        "| heap held (KiB) | {:.1} | {:.1} | {:.1} | {:+.1} |",
        first.live / 1024.0,
        warm.live / 1024.0,
        last.live / 1024.0,
        (last.live - warm.live) / 1024.0
    );
    println!(
        "| open fds | {} | {} | {} | {} |",
        first.fds,
        warm.fds,
        last.fds,
        if fds_grew { "YES" } else { "no" }
    );
    println!(
        "| threads | {} | {} | {} | {} |",
        first.threads,
        warm.threads,
        last.threads,
        if threads_grew { "YES" } else { "no" }
    );
    println!(
        "log files at the end: {files} (limit {}), over the size limit: {oversize:?}; exit status on SIGTERM: {code:?}",
        MAX_LOG_FILES + 1
    );
    println!("soak: {verdict}");
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/soak-last.md");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let _ = std::fs::write(&record, format!("{stamp} {}\n", verdict));
    let ok = !over
        && !fds_grew
        && !threads_grew
        && failed == 0
        && oversize.is_empty()
        && code == Some(0)
        && files <= MAX_LOG_FILES + 1;
    std::process::ExitCode::from(if ok { 0 } else { 1 })
}
