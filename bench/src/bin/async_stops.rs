//! The async rows, side by side in one run: `cargo run --release -p simple-daemon-bench --bin
//! async_stops [-- --runs N]` (default 20). For simple-daemon's tokio driver, the bare tokio
//! limit and tokio-graceful-shutdown (the subjects of `bench_async`, built beside this binary:
//! `cargo build --release -p simple-daemon-bench --bins`), round-robin so drift cancels: start-up
//! (exec to the first tick), idle RSS and threads, and the SIGTERM-to-exit latency of each stop
//! case. Prints a markdown table of medians (min-max). A benchmark, not a test: it reports.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_bench::proc_status;

const WHO: [(&str, &str); 3] = [
    ("ours", "simple-daemon (tokio)"),
    ("bare", "bare tokio limit"),
    ("tgs", "tokio-graceful-shutdown"),
];
const CASES: [(&str, &str); 4] = [
    ("idle", "stop latency, passive, SIGTERM in a 60 s interval sleep"),
    ("busy", "stop latency, passive, SIGTERM during a 300 ms tick"),
    (
        "aggressive",
        "stop latency, aggressive, tick awaiting a 60 s sleep",
    ),
    (
        "blocking",
        "stop latency, aggressive, tick blocked in std::thread::sleep(60 s)",
    ),
];

struct Sample {
    startup_ms: f64,
    rss_kib: f64,
    threads: f64,
    stop_ms: Option<f64>,
}

fn cycle(exe: &std::path::Path, who: &str, case: &str, dir: &std::path::Path) -> Option<Sample> {
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
    let rss_kib = proc_status(pid, "VmRSS:").unwrap_or(0) as f64;
    let threads = proc_status(pid, "Threads:").unwrap_or(0) as f64;
    let sent = Instant::now();
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let bound = Duration::from_secs(5);
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

fn cell(v: &mut [f64], unit: &str, runs: usize) -> String {
    if v.is_empty() {
        return format!("no stop within 5 s (0/{runs})");
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    let med = if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    };
    let n = if v.len() < runs {
        format!(", {}/{runs} stopped", v.len())
    } else {
        String::new()
    };
    format!("{med:.1} {unit} ({:.1}-{:.1}{n})", v[0], v[v.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("bench_async")))
        .filter(|e| e.is_file())
    else {
        eprintln!("async_stops: bench_async is not built beside me: cargo build --release -p simple-daemon-bench --bins");
        std::process::exit(1);
    };
    let dir = std::env::temp_dir().join(format!("sd-async-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // [who][row]: rows 0 start-up, 1 RSS, 2 threads, 3.. the cases.
    let mut cols: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); 3 + CASES.len()]; WHO.len()];
    for _ in 0..runs {
        for (c, (case, _)) in CASES.iter().enumerate() {
            for (w, (who, _)) in WHO.iter().enumerate() {
                let Some(s) = cycle(&exe, who, case, &dir) else {
                    continue;
                };
                if *case == "idle" {
                    cols[w][0].push(s.startup_ms);
                    cols[w][1].push(s.rss_kib);
                    cols[w][2].push(s.threads);
                }
                if let Some(ms) = s.stop_ms {
                    cols[w][3 + c].push(ms);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "| row ({runs} runs, median (min-max)) | {} | {} | {} |",
        WHO[0].1, WHO[1].1, WHO[2].1
    );
    println!("|---|---|---|---|");
    let names = ["start-up: exec to the first tick", "idle RSS", "idle threads"];
    let units = ["ms", "KiB", ""];
    for r in 0..3 + CASES.len() {
        let (name, unit) = if r < 3 {
            (names[r], units[r])
        } else {
            (CASES[r - 3].1, "ms")
        };
        let cells: Vec<String> = (0..WHO.len())
            .map(|w| cell(&mut cols[w][r], unit, runs))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}
