//! Structured logging: JSON lines and text with a field, simple-daemon against
//! tracing-subscriber's `json` and `fmt` layers writing to the same kind of file (direct, and
//! through tracing-appender's non-blocking writer as the buffered peer), and the cost of a
//! record for a disabled target with 20 directives. Side by side in one run.
//!
//! `cargo run --release -p simple-daemon-bench --bin structured [-- LINES [ROUNDS]]`
//!
//! Each throughput case runs in a child process of its own (a logger is process-wide), logs
//! LINES INFO records (default 1,000,000) with one field (`user = i`) from one thread, and is
//! timed from the first record to the last one written out (buffered writers flushed or joined).
//! Ours rotates at 1 MiB with the seed's 2 backups (so older records are rotated away); the
//! peers write one file without rotation. Then every file is read back: each JSON line must be
//! well-formed, and the records found must be each exactly once, all of them for the peers, a
//! gap-free tail ending with the last one for ours. The cases alternate for ROUNDS rounds (default 3) so machine drift spreads over all;
//! the median is printed, with the ratio to the peer the issue names.
//!
//! One more row: `tracing` events (the same record, `tracing::info!(user = i, ...)`) through our
//! bridge (feature `tracing`) to the rotating text file, against tracing-subscriber's `fmt` layer
//! to a `File`. The direct rows are also run without rotation ("one file"), as the peers write.
//! Beside lines/s (wall time, which a loaded machine disturbs) each case gives its process's CPU
//! time per line (user and system, every thread), and the ratio of the peer's to ours.
//!
//! The disabled-target row runs in-process: a daemon started with `level` = a default of `info`
//! and 20 `target=level` directives (one at `trace`, so `log`'s max level lets every record
//! through to the filter), then 20,000,000 `debug!` records of a target whose directive is
//! `warn`, timed per call; beside it, a record cut by `log`'s max level alone (the callsite check).
//!
//! It prints figures; it asserts nothing about speed (a benchmark, not a timed test).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MAX_SIZE: u64 = 1024 * 1024;
/// A limit no run reaches: one file, as the peers write.
const ONE_FILE: u64 = 1 << 40;
const NAME: &str = "bench";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    OursJson,
    OursJsonBuffered,
    TsJson,
    TsJsonNonBlocking,
    OursText,
    OursTextBuffered,
    TsFmt,
    TsFmtNonBlocking,
    /// `tracing` events (not `log` records) through our bridge (feature `tracing`), text.
    OursTracingText,
    /// The same three without rotation (one file, as the peers write).
    OursJsonOneFile,
    OursTextOneFile,
    OursTracingTextOneFile,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::OursJson,
        Kind::OursJsonOneFile,
        Kind::OursJsonBuffered,
        Kind::TsJson,
        Kind::TsJsonNonBlocking,
        Kind::OursText,
        Kind::OursTextOneFile,
        Kind::OursTextBuffered,
        Kind::TsFmt,
        Kind::TsFmtNonBlocking,
        Kind::OursTracingText,
        Kind::OursTracingTextOneFile,
    ];
    fn name(self) -> &'static str {
        match self {
            Kind::OursJson => "simple-daemon json direct (rotating)",
            Kind::OursJsonBuffered => "simple-daemon json buffered (rotating)",
            Kind::TsJson => "tracing-subscriber json, File",
            Kind::TsJsonNonBlocking => "tracing-subscriber json, non_blocking",
            Kind::OursText => "simple-daemon text+field direct (rotating)",
            Kind::OursTextBuffered => "simple-daemon text+field buffered (rotating)",
            Kind::TsFmt => "tracing-subscriber fmt, File",
            Kind::TsFmtNonBlocking => "tracing-subscriber fmt, non_blocking",
            Kind::OursTracingText => "simple-daemon tracing events, text+field",
            Kind::OursJsonOneFile => "simple-daemon json direct, one file",
            Kind::OursTextOneFile => "simple-daemon text+field direct, one file",
            Kind::OursTracingTextOneFile => "simple-daemon tracing events, one file",
        }
    }
    fn arg(self) -> String {
        format!("{self:?}")
    }
    fn rotates(self) -> bool {
        matches!(
            self,
            Kind::OursJson
                | Kind::OursJsonBuffered
                | Kind::OursText
                | Kind::OursTextBuffered
                | Kind::OursTracingText
        )
    }
    fn json(self) -> bool {
        matches!(
            self,
            Kind::OursJson
                | Kind::OursJsonOneFile
                | Kind::OursJsonBuffered
                | Kind::TsJson
                | Kind::TsJsonNonBlocking
        )
    }
    fn tracing_events(self) -> bool {
        matches!(self, Kind::OursTracingText | Kind::OursTracingTextOneFile)
    }
    /// The peer a ratio is taken against, and the goal for it.
    fn goal(self) -> Option<(Kind, f64)> {
        match self {
            Kind::OursJson => Some((Kind::TsJson, 1.5)),
            Kind::OursJsonBuffered => Some((Kind::TsJsonNonBlocking, 3.0)),
            Kind::OursText => Some((Kind::TsFmt, 1.0)),
            Kind::OursTextBuffered => Some((Kind::TsFmtNonBlocking, 1.0)),
            Kind::OursTracingText => Some((Kind::TsFmt, 1.0)),
            Kind::OursJsonOneFile => Some((Kind::TsJson, 1.5)),
            Kind::OursTextOneFile | Kind::OursTracingTextOneFile => Some((Kind::TsFmt, 1.0)),
            _ => None,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--child") => return child(&args[2..]),
        Some("--disabled") => return disabled(),
        _ => {}
    }
    let lines: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let root = std::env::temp_dir().join(format!("sd-structured-{}", std::process::id()));
    let exe = std::env::current_exe().expect("current_exe");
    println!("structured: {lines} INFO records with one field, 1 thread, median of {rounds} rounds");
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); Kind::ALL.len()];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); Kind::ALL.len()];
    let mut checks: Vec<String> = vec![String::new(); Kind::ALL.len()];
    for _ in 0..rounds {
        for (k, kind) in Kind::ALL.into_iter().enumerate() {
            let dir = root.join(kind.arg());
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("mkdir");
            let out = Command::new(&exe)
                .arg("--child")
                .arg(kind.arg())
                .arg(lines.to_string())
                .arg(&dir)
                .output()
                .expect("run child");
            assert!(
                out.status.success(),
                "{kind:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut nums = text
                .split_whitespace()
                .map(|n| n.parse::<f64>().expect("child prints nanoseconds"));
            let nanos = nums.next().expect("elapsed");
            let cpu = nums.next().expect("cpu");
            rates[k].push(lines as f64 / (nanos / 1e9));
            cpus[k].push(cpu / lines as f64);
            checks[k] = check(&dir, lines, kind.json(), kind.rotates());
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\n| {:<46} | {:>10} | {:>28} | {:>12} | {:>22} | check |",
        "logger", "lines/s", "ratio (goal)", "CPU ns/line", "CPU ratio (peer / ours)"
    );
    println!(
        "|{:-<48}|{:->12}|{:->30}|{:->14}|{:->24}|-------|",
        "", "", "", "", ""
    );
    for (k, kind) in Kind::ALL.into_iter().enumerate() {
        let rate = median(&rates[k]);
        let cpu = median(&cpus[k]);
        let (ratio, cpu_ratio) = kind
            .goal()
            .map_or((String::new(), String::new()), |(peer, goal)| {
                let i = Kind::ALL.iter().position(|&x| x == peer).unwrap_or(0);
                (
                    format!("{:.2}x {:?} (>= {goal}x)", rate / median(&rates[i]), peer),
                    format!("{:.2}x", median(&cpus[i]) / cpu),
                )
            });
        println!(
            "| {:<46} | {:>10.0} | {:>28} | {:>12.0} | {:>22} | {} |",
            kind.name(),
            rate,
            ratio,
            cpu,
            cpu_ratio,
            checks[k]
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    let out = Command::new(&exe)
        .arg("--disabled")
        .output()
        .expect("run --disabled");
    print!("\n{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

/// One throughput case, in its own process: prints the elapsed nanoseconds.
fn child(args: &[String]) {
    let kind = Kind::ALL.into_iter().find(|k| k.arg() == args[0]).expect("kind");
    let lines: u64 = args[1].parse().expect("lines");
    let dir = PathBuf::from(&args[2]);
    let file = || {
        std::sync::Arc::new(
            std::fs::File::create(dir.join(format!("{NAME}.log"))).expect("create the log file"),
        )
    };
    let mut guard = None;
    let mut worker = None;
    let ours = |json: bool, buffered: bool, max: u64| {
        simple_daemon::SimpleDaemon::new(NAME)
            .log_path(&dir)
            .level("info")
            .log_format(if json {
                simple_daemon::JSON_LOG_FORMAT
            } else {
                simple_daemon::DEFAULT_LOG_FORMAT
            })
            .max_log_size(max)
            .max_log_files(2)
            .buffered(buffered)
            .start()
            .expect("start")
    };
    let builder = || {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
    };
    match kind {
        Kind::OursJson => guard = Some(ours(true, false, MAX_SIZE)),
        Kind::OursJsonBuffered => guard = Some(ours(true, true, MAX_SIZE)),
        Kind::OursText => guard = Some(ours(false, false, MAX_SIZE)),
        Kind::OursTextBuffered => guard = Some(ours(false, true, MAX_SIZE)),
        Kind::OursTracingText => guard = Some(ours(false, false, MAX_SIZE)),
        Kind::OursJsonOneFile => guard = Some(ours(true, false, ONE_FILE)),
        Kind::OursTextOneFile => guard = Some(ours(false, false, ONE_FILE)),
        Kind::OursTracingTextOneFile => guard = Some(ours(false, false, ONE_FILE)),
        Kind::TsJson => builder().json().with_writer(file()).init(),
        Kind::TsFmt => builder().with_writer(file()).init(),
        Kind::TsJsonNonBlocking | Kind::TsFmtNonBlocking => {
            let (w, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .lossy(false)
                .finish(std::fs::File::create(dir.join(format!("{NAME}.log"))).expect("create"));
            worker = Some(g);
            if kind == Kind::TsJsonNonBlocking {
                builder().json().with_writer(w).init();
            } else {
                builder().with_writer(w).init();
            }
        }
    }
    let start = Instant::now();
    let cpu = process_cpu_ns();
    if kind.tracing_events() {
        for i in 0..lines {
            tracing::info!(user = i, "i{i} the quick brown fox jumps over the lazy dog");
        }
        log::logger().flush();
    } else if guard.is_some() {
        for i in 0..lines {
            log::info!(user = i; "i{i} the quick brown fox jumps over the lazy dog");
        }
        log::logger().flush();
    } else {
        for i in 0..lines {
            tracing::info!(user = i, "i{i} the quick brown fox jumps over the lazy dog");
        }
        drop(worker.take());
    }
    let elapsed = start.elapsed();
    let cpu = process_cpu_ns() - cpu;
    println!("{} {cpu}", elapsed.as_nanos());
    drop(guard);
}

/// Read every file back: each `i<n>` found exactly once, all of them (or, `rotated`, a tail
/// ending with the last), JSON lines well-formed.
fn check(dir: &Path, lines: u64, json: bool, rotated: bool) -> String {
    let mut seen = vec![0u8; usize::try_from(lines).unwrap_or(usize::MAX)];
    let mut bad = 0u64;
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        for line in text.lines() {
            if json && !valid_json_object(line) {
                bad += 1;
                continue;
            }
            let Some(at) = line.find(" the quick brown fox") else {
                continue;
            };
            let head = &line[..at];
            let Some(n) = head.rfind('i').and_then(|p| head[p + 1..].parse::<usize>().ok()) else {
                bad += 1;
                continue;
            };
            match seen.get_mut(n) {
                Some(c) => *c += 1,
                None => bad += 1,
            }
        }
    }
    let once = seen.iter().filter(|&&c| c == 1).count();
    let first = seen.iter().position(|&c| c > 0).unwrap_or(seen.len());
    let tail = seen[first..].iter().all(|&c| c == 1);
    let whole = if rotated {
        tail && once > 0
    } else {
        once as u64 == lines
    };
    match (whole && bad == 0, rotated) {
        (true, true) => format!("OK (tail of {once})"),
        (true, false) => "OK".into(),
        _ => format!("FAIL: {once} of {lines} once, {bad} bad"),
    }
}

/// A cheap structural JSON check (the tests prove validity with a real parser): balanced
/// braces outside strings, strings closed, ends with `}`.
fn valid_json_object(line: &str) -> bool {
    if !line.starts_with('{') {
        return false;
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    for b in line.bytes() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                (false, c) if c < 0x20 => return false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
        }
    }
    !in_str && depth == 0 && line.ends_with('}')
}

mod noisy {
    pub mod client {
        /// A library's record for a target the directives set to `warn`.
        #[inline(never)]
        pub fn debug_record(i: u64) {
            log::debug!("noisy debug {i}");
        }
    }
}

/// This process's CPU time (user and system, every thread) in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// The disabled-target row, in this process.
fn disabled() {
    let dir = std::env::temp_dir().join(format!("sd-structured-disabled-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut directives = String::from("info");
    for i in 0..18 {
        directives.push_str(&format!(",crate{i}::module=debug"));
    }
    directives.push_str(",my_app::db=trace,structured::noisy::client=warn");
    let guard = simple_daemon::SimpleDaemon::new(NAME)
        .log_path(&dir)
        .level(directives.as_str())
        .start()
        .expect("start");
    let n: u64 = 20_000_000;
    let per_call = |f: &dyn Fn(u64)| {
        let mut best = f64::MAX;
        for _ in 0..5 {
            // This thread's CPU time, so time spent descheduled by a loaded machine is not counted.
            let t = thread_cpu_ns();
            for i in 0..n {
                f(black_box(i));
            }
            best = best.min((thread_cpu_ns() - t) / n as f64);
        }
        best
    };
    let module = per_call(&|i| noisy::client::debug_record(i));
    let literal = per_call(&|i| log::debug!(target: "hyper::proto::h1::conn", "hyper debug {i}"));
    log::set_max_level(log::LevelFilter::Info);
    let callsite = per_call(&|i| noisy::client::debug_record(i));
    println!("disabled target, 20 directives (`{directives}`), best of 5 x {n} calls, thread CPU time:");
    println!("| case | ns/call |");
    println!("|---|---|");
    println!("| debug! from a module whose directive is warn (goal <= 5 ns) | {module:.2} |");
    println!("| debug!(target: \"hyper::proto::h1::conn\"), default info (goal <= 5 ns) | {literal:.2} |");
    println!("| debug! cut by log's max level alone (the callsite check) | {callsite:.2} |");
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}
