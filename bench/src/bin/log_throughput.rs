//! Logging throughput: simple-daemon's default and buffered modes against flexi_logger's direct
//! and buffered modes, side by side in one run, through a rotating file of 1 MiB; and the
//! default mode with `rotate_every = "1d"` (its per-record cost should equal the default's).
//!
//! `cargo run --release -p simple-daemon-bench --bin log_throughput [-- LINES]`
//!
//! Each case runs in a child process of its own (a `log` logger is process-wide), logs LINES
//! INFO lines (default 1,000,000) in the seed's format from 1 or 4 threads, and is timed from the
//! first line to the last one written out (buffered modes flushed). Then the files are read back:
//! - table 1, 2 backups (the seed's default): the files hold the newest lines only, so the check
//!   is that each thread's lines found form a gap-free tail ending with its last line (a thread
//!   that finished early may have none left), and no line is torn;
//! - table 2, 200 backups (nothing dropped): written == found, exactly, and no line torn.
//!
//! It prints lines/s; it asserts nothing about speed (a benchmark, not a timed test).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MAX_SIZE: u64 = 1024 * 1024;
const BASENAME: &str = "bench";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ours,
    OursTimed,
    OursBuffered,
    Flexi,
    FlexiBuffered,
}

impl Kind {
    fn all() -> [Kind; 5] {
        [
            Kind::Ours,
            Kind::OursTimed,
            Kind::OursBuffered,
            Kind::Flexi,
            Kind::FlexiBuffered,
        ]
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "simple-daemon default (1 write/record)",
            Kind::OursTimed => "simple-daemon rotate_every = \"1d\"",
            Kind::OursBuffered => "simple-daemon buffered",
            Kind::Flexi => "flexi_logger Direct",
            Kind::FlexiBuffered => "flexi_logger BufferAndFlush",
        }
    }
    fn arg(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::OursTimed => "ours-timed",
            Kind::OursBuffered => "ours-buffered",
            Kind::Flexi => "flexi",
            Kind::FlexiBuffered => "flexi-buffered",
        }
    }
    fn parse(s: &str) -> Option<Kind> {
        Kind::all().into_iter().find(|k| k.arg() == s)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2..]);
        return;
    }
    let lines: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let root = std::env::temp_dir().join(format!("sd-log-throughput-{}", std::process::id()));
    let exe = std::env::current_exe().expect("current_exe");
    println!("log_throughput: {lines} INFO lines in the seed's format, rotating at 1 MiB");
    for (backups, title) in [
        (2usize, "1 MiB x 2 backups; check: each thread's lines found are a gap-free tail ending with its last line, none torn"),
        (200, "1 MiB x 200 backups (nothing dropped); check: written == found, none torn"),
    ] {
        println!("\n{title}");
        println!(
            "{:<40} {:>7} {:>14} {:>10} {:>12}  check",
            "logger", "threads", "lines/s", "files", "largest file"
        );
        for threads in [1usize, 4] {
            for kind in Kind::all() {
                let dir = root.join(format!("{}-{threads}-{backups}", kind.arg()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).expect("mkdir");
                let out = Command::new(&exe)
                    .args(["--child", kind.arg()])
                    .arg(threads.to_string())
                    .arg(lines.to_string())
                    .arg(backups.to_string())
                    .arg(&dir)
                    .output()
                    .expect("run child");
                assert!(out.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&out.stderr));
                let nanos: f64 = String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .expect("child prints nanoseconds");
                let rate = lines as f64 / (nanos / 1e9);
                let check = check(&dir, threads, lines / threads as u64, backups > 2);
                println!(
                    "{:<40} {:>7} {:>14} {:>10} {:>12}  {}",
                    kind.name(),
                    threads,
                    format!("{:.0}", rate),
                    check.files,
                    check.largest,
                    check.verdict
                );
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// One case, in its own process: prints the elapsed nanoseconds.
fn child(args: &[String]) {
    let kind = Kind::parse(&args[0]).expect("kind");
    let threads: usize = args[1].parse().expect("threads");
    let lines: u64 = args[2].parse().expect("lines");
    let backups: usize = args[3].parse().expect("backups");
    let dir = PathBuf::from(&args[4]);
    let per_thread = lines / threads as u64;

    let mut guard = None;
    let mut flexi = None;
    match kind {
        Kind::Ours | Kind::OursTimed | Kind::OursBuffered => {
            let mut b = simple_daemon::SimpleDaemon::new(BASENAME)
                .log_path(&dir)
                .level(log::LevelFilter::Info)
                .max_log_size(MAX_SIZE)
                .max_log_files(backups)
                .buffered(kind == Kind::OursBuffered);
            if kind == Kind::OursTimed {
                b = b.rotate_every(simple_daemon::RotateEvery::Day);
            }
            guard = Some(b.start().expect("start"));
        }
        Kind::Flexi | Kind::FlexiBuffered => {
            use flexi_logger::{Cleanup, Criterion, FileSpec, Logger, Naming, WriteMode};
            let mode = if kind == Kind::Flexi {
                WriteMode::Direct
            } else {
                WriteMode::BufferAndFlush
            };
            flexi = Some(
                Logger::try_with_str("info")
                    .expect("spec")
                    .log_to_file(
                        FileSpec::default()
                            .directory(&dir)
                            .basename(BASENAME)
                            .suppress_timestamp(),
                    )
                    .format(seed_format)
                    .rotate(
                        Criterion::Size(MAX_SIZE),
                        Naming::Numbers,
                        Cleanup::KeepLogFiles(backups),
                    )
                    .write_mode(mode)
                    .start()
                    .expect("flexi start"),
            );
        }
    }

    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    log::info!("t{t} i{i} the quick brown fox jumps over the lazy dog");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    log::logger().flush();
    if let Some(h) = &flexi {
        h.flush();
    }
    let elapsed = start.elapsed();
    println!("{}", elapsed.as_nanos());
    if let Some(h) = flexi {
        h.shutdown();
    }
    drop(guard);
}

fn seed_format(
    w: &mut dyn std::io::Write,
    now: &mut flexi_logger::DeferredNow,
    record: &log::Record<'_>,
) -> std::io::Result<()> {
    write!(
        w,
        "{} - {BASENAME} - {} - {}",
        now.format("%Y-%m-%d %H:%M:%S,%3f"),
        record.level(),
        record.args()
    )
}

struct Check {
    files: usize,
    largest: u64,
    verdict: String,
}

/// Read every file back; per thread, collect the line numbers found.
fn check(dir: &Path, threads: usize, per_thread: u64, exact: bool) -> Check {
    let mut seen: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    let mut torn = 0u64;
    let mut files = 0;
    let mut largest = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read(&path).expect("read");
        files += 1;
        largest = largest.max(text.len() as u64);
        for line in String::from_utf8_lossy(&text).lines() {
            let Some((_, rest)) = line.split_once(" - INFO - ") else {
                torn += 1;
                continue;
            };
            if !line.starts_with("20") || line.len() < 23 {
                torn += 1;
                continue;
            }
            let Some(body) = rest.strip_suffix(" the quick brown fox jumps over the lazy dog") else {
                // The daemon's own start lines (`PID: ...`, `Mode: ...`) are not counted.
                if rest.starts_with('t') {
                    torn += 1;
                }
                continue;
            };
            let mut it = body.split(' ');
            let t = it
                .next()
                .and_then(|t| t.strip_prefix('t'))
                .and_then(|t| t.parse().ok());
            let i = it
                .next()
                .and_then(|i| i.strip_prefix('i'))
                .and_then(|i| i.parse().ok());
            match (t, i) {
                (Some(t), Some(i)) => seen.entry(t).or_default().push(i),
                _ => torn += 1,
            }
        }
    }
    let found: u64 = seen.values().map(|v| v.len() as u64).sum();
    let written = per_thread * threads as u64;
    let mut ok = torn == 0;
    for t in 0..threads {
        let mut v = seen.remove(&t).unwrap_or_default();
        v.sort_unstable();
        v.dedup();
        // A thread that finished early may have all its lines rotated away (2 backups).
        let tail_ok = (v.is_empty() && !exact)
            || (v.last() == Some(&(per_thread - 1))
                && v.first().is_some_and(|&f| v.len() as u64 == per_thread - f));
        ok &= tail_ok && (!exact || v.len() as u64 == per_thread);
    }
    let verdict = if exact {
        format!(
            "written {written} found {found} torn {torn}: {}",
            if ok { "OK" } else { "FAIL" }
        )
    } else {
        format!(
            "tail of {found} lines, torn {torn}: {}",
            if ok { "OK" } else { "FAIL" }
        )
    };
    Check {
        files,
        largest,
        verdict,
    }
}
