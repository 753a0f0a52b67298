//! The soak: run a daemon for a long time at a tick every millisecond with size rotation, and
//! report its resident memory, open file descriptors and threads at the start and the end.
//!
//! ```text
//! cargo run --release -p simple-daemon-bench --bin soak -- [--minutes N | --seconds N]
//! ```
//!
//! Default 10 minutes. The daemon is this same binary started as a child (`--child DIR`): a
//! passive `SimpleDaemon` with `interval = 1ms`, `max_log_size = 64 KiB`, `max_log_files = 3`,
//! logging one line per tick. The parent samples `/proc/PID/status` (`VmRSS`, `Threads`) and
//! `/proc/PID/fd` after a warm-up, every 30 s, and at the end; then stops the daemon with SIGTERM
//! and checks it exits 0 and that no log file passed the limit. Exit status 1 when anything grew
//! (RSS by more than 10 % and 512 KiB, fds or threads at all) or the stop failed. Not run by the
//! tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon::{Context, Daemon, Exit, SimpleDaemon};
use simple_daemon_bench::proc_status;

const MAX_LOG_SIZE: u64 = 64 * 1024;
const MAX_LOG_FILES: usize = 3;
const WARM_UP: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

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

fn child(dir: &str) -> Exit {
    SimpleDaemon::new("Soak")
        .log_path(dir)
        .interval(Duration::from_millis(1))
        .max_log_size(MAX_LOG_SIZE)
        .max_log_files(MAX_LOG_FILES)
        .run(Ticker { n: 0 })
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    fds: usize,
    threads: u64,
}

fn sample(pid: u32) -> Option<Sample> {
    Some(Sample {
        rss_kib: proc_status(pid, "VmRSS:")?,
        threads: proc_status(pid, "Threads:")?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
    })
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

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let code = child(args.get(2).map_or(".", String::as_str)).code();
        return std::process::ExitCode::from(code);
    }
    let mut run_for = Duration::from_secs(600);
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let n: Option<u64> = it.next().and_then(|v| v.parse().ok());
        match (a.as_str(), n) {
            ("--minutes", Some(n)) => run_for = Duration::from_secs(n * 60),
            ("--seconds", Some(n)) => run_for = Duration::from_secs(n),
            _ => {
                eprintln!("usage: soak [--minutes N | --seconds N]");
                return std::process::ExitCode::from(64);
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("simple-daemon-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the soak directory");
    let log: PathBuf = dir.join("Soak.log");
    let exe = std::env::current_exe().expect("current_exe");
    let mut daemon = Command::new(exe)
        .arg("--child")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the daemon");
    let pid = daemon.id();
    println!(
        "soak: daemon {pid}, tick every 1 ms, max_log_size {MAX_LOG_SIZE} B x {MAX_LOG_FILES} backups, {:?} after a {:?} warm-up",
        run_for, WARM_UP
    );
    std::thread::sleep(WARM_UP);
    let (Some(first), t0) = (sample(pid), ticks_logged(&log)) else {
        eprintln!("soak: the daemon is not running");
        let _ = daemon.kill();
        let _ = daemon.wait();
        return std::process::ExitCode::from(1);
    };
    let started = Instant::now();
    println!(
        "  t=0s      RSS {:>6} KiB  fds {:>3}  threads {:>2}  (tick {t0})",
        first.rss_kib, first.fds, first.threads
    );
    let mut last = first;
    while started.elapsed() < run_for {
        let left = run_for.saturating_sub(started.elapsed());
        std::thread::sleep(left.min(SAMPLE_EVERY));
        match sample(pid) {
            Some(s) => {
                last = s;
                println!(
                    "  t={:<6}  RSS {:>6} KiB  fds {:>3}  threads {:>2}  (tick {})",
                    format!("{}s", started.elapsed().as_secs()),
                    s.rss_kib,
                    s.fds,
                    s.threads,
                    ticks_logged(&log)
                );
            }
            None => {
                eprintln!("soak: the daemon died");
                let _ = daemon.kill();
                let _ = daemon.wait();
                return std::process::ExitCode::from(1);
            }
        }
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
    let rss_grew = last.rss_kib > first.rss_kib + (first.rss_kib / 10).max(512);
    let grew = rss_grew || last.fds != first.fds || last.threads != first.threads;
    println!("| | start | end | grew |\n|---|---|---|---|");
    println!(
        "| RSS (KiB) | {} | {} | {} |",
        first.rss_kib,
        last.rss_kib,
        if rss_grew { "YES" } else { "no" }
    );
    println!(
        "| open fds | {} | {} | {} |",
        first.fds,
        last.fds,
        if last.fds != first.fds { "YES" } else { "no" }
    );
    println!(
        "| threads | {} | {} | {} |",
        first.threads,
        last.threads,
        if last.threads != first.threads {
            "YES"
        } else {
            "no"
        }
    );
    println!(
        "ticks during the soak: {} ({:.0}/s); log files at the end: {files} (limit {}), over the size limit: {oversize:?}; exit status on SIGTERM: {code:?}",
        t1.saturating_sub(t0),
        t1.saturating_sub(t0) as f64 / run_for.as_secs_f64(),
        MAX_LOG_FILES + 1
    );
    let _ = std::fs::remove_dir_all(&dir);
    let ok = !grew && oversize.is_empty() && code == Some(0) && files <= MAX_LOG_FILES + 1;
    std::process::ExitCode::from(if ok { 0 } else { 1 })
}
