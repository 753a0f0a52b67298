//! The async rows of the table, in the same run as the sync ones: simple-daemon's tokio driver,
//! the bare tokio limit and tokio-graceful-shutdown (the subjects of `bench_async`),
//! round-robin so drift cancels: start-up (exec to the first tick), idle RSS and threads, and
//! the SIGTERM-to-exit latency of each stop case. A subject that did not stop a blocked tick
//! within [`BLOCKED_BOUND`] is not tried again in that case (it cannot: its runtime thread is
//! blocked), which keeps the quick form quick.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_bench::proc_status;

use crate::{ratio, Stat};

const WHO: [(&str, &str); 3] = [
    ("ours", "simple-daemon (tokio)"),
    ("bare", "bare tokio limit"),
    ("tgs", "tokio-graceful-shutdown"),
];
const CASES: [(&str, &str); 4] = [
    (
        "idle",
        "async stop latency, passive, SIGTERM in a 60 s interval sleep",
    ),
    (
        "busy",
        "async stop latency, passive, SIGTERM during a 300 ms tick",
    ),
    (
        "aggressive",
        "async stop latency, aggressive, tick awaiting a 60 s sleep",
    ),
    (
        "blocking",
        "async stop latency, aggressive, tick blocked in std::thread::sleep(60 s)",
    ),
];

/// How long a stop may take before the subject is counted as not stopping.
const BOUND: Duration = Duration::from_secs(5);
/// The same, for a tick blocked outside an `.await` (ours ends 500 ms after the signal).
const BLOCKED_BOUND: Duration = Duration::from_secs(2);

struct Sample {
    startup_ms: f64,
    rss_kib: f64,
    threads: f64,
    stop_ms: Option<f64>,
}

fn cycle(exe: &Path, who: &str, case: &str, dir: &Path) -> Option<Sample> {
    let t0 = Instant::now();
    let mut child = Command::new(exe)
        .args([who, case])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    while out.read_line(&mut line).ok()? > 0 && !line.contains("started") {
        line.clear();
    }
    let startup_ms = t0.elapsed().as_secs_f64() * 1e3;
    // Let it settle in its sleep (or, `busy`, somewhere in its tick).
    std::thread::sleep(Duration::from_millis(if case == "busy" { 137 } else { 50 }));
    let pid = child.id();
    let rss_kib = proc_status(pid, "VmRSS:").map_or(f64::NAN, |v| v as f64);
    let threads = proc_status(pid, "Threads:").map_or(f64::NAN, |v| v as f64);
    let sent = Instant::now();
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let bound = if case == "blocking" { BLOCKED_BOUND } else { BOUND };
    let stop_ms = loop {
        if let Ok(Some(_)) = child.try_wait() {
            break Some(sent.elapsed().as_secs_f64() * 1e3);
        }
        if sent.elapsed() > bound {
            // Did not stop (a blocked tick it cannot cancel): no figure.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    Some(Sample {
        startup_ms,
        rss_kib,
        threads,
        stop_ms,
    })
}

/// Run the async rows `runs` times and print their table; returns what `--check` counts as
/// missing (a row of ours or of the bare tokio limit without a figure; the bare limit cannot
/// stop a blocked tick, so that row asks for ours only).
pub(crate) fn print(bin_dir: &Path, work: &Path, runs: usize) -> Vec<String> {
    let exe = bin_dir.join("bench_async");
    if !exe.is_file() {
        println!("\n(async rows: {} is missing)", exe.display());
        return vec![format!("async rows: {} is missing", exe.display())];
    }
    let dir = work.join("async");
    let _ = std::fs::create_dir_all(&dir);
    // [who][row]: rows 0 start-up, 1 RSS, 2 threads, 3.. the cases.
    let mut cols: Vec<Vec<Stat>> = vec![vec![Stat::default(); 3 + CASES.len()]; WHO.len()];
    let mut tried = [[0usize; CASES.len()]; WHO.len()];
    let mut gave_up = [[false; CASES.len()]; WHO.len()];
    for _ in 0..runs {
        for (c, (case, _)) in CASES.iter().enumerate() {
            for (w, (who, _)) in WHO.iter().enumerate() {
                if gave_up[w][c] {
                    continue;
                }
                let Some(s) = cycle(&exe, who, case, &dir) else {
                    continue;
                };
                tried[w][c] += 1;
                if *case == "idle" {
                    cols[w][0].push(s.startup_ms);
                    cols[w][1].push(s.rss_kib);
                    cols[w][2].push(s.threads);
                }
                match s.stop_ms {
                    Some(ms) => cols[w][3 + c].push(ms),
                    None => gave_up[w][c] = *case == "blocking",
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!(
        "| async row | {} | {} | {} | ours / bare tokio | ours / tokio-graceful-shutdown |",
        WHO[0].1, WHO[1].1, WHO[2].1
    );
    println!("|---|---|---|---|---|---|");
    let names = [
        "async start-up: exec to the first tick",
        "async idle RSS",
        "async idle threads",
    ];
    let units = ["ms", "KiB", ""];
    let mut missing = Vec::new();
    for r in 0..3 + CASES.len() {
        let (name, unit) = if r < 3 {
            (names[r], units[r])
        } else {
            (CASES[r - 3].1, "ms")
        };
        let cells: Vec<String> = (0..WHO.len())
            .map(|w| {
                let stat = &cols[w][r];
                let n = if r < 3 { 0 } else { tried[w][r - 3] };
                match stat.median() {
                    None if r >= 3 => format!("no stop within {} s (0/{n})", bound_of(r).as_secs()),
                    _ if r >= 3 && stat.0.len() < n => {
                        format!("{}, {}/{n} stopped", stat.cell(unit), stat.0.len())
                    }
                    _ => stat.cell(unit),
                }
            })
            .collect();
        println!(
            "| {name} | {} | {} | {} |",
            cells.join(" | "),
            ratio(&cols[0][r], &cols[1][r]),
            ratio(&cols[0][r], &cols[2][r])
        );
        let needs_bare = r < 3 || CASES[r - 3].0 != "blocking";
        for w in [0, 1] {
            if (w == 0 || needs_bare) && cols[w][r].median().is_none() {
                missing.push(format!("{}: {name}", WHO[w].1));
            }
        }
    }
    missing
}

fn bound_of(row: usize) -> Duration {
    if CASES[row - 3].0 == "blocking" {
        BLOCKED_BOUND
    } else {
        BOUND
    }
}
