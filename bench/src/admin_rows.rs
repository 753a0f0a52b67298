//! The admin rows: what the metrics cost a tick (the same back-to-back tick with the admin
//! listener on and off, `bench_ours overhead[-admin]`, alternating processes), how long a scrape
//! takes while the tick thread is busy (`bench_ours admin-load`, scraped over TCP from here,
//! one request per connection as Prometheus does), and the last soak's figure (`--bin soak`,
//! from `target/soak-last.md`, when one ran). The goal: metrics cost at most 50 ns a tick.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Stat;

/// Ticks per overhead sample: a second or so each.
const TICKS: &str = "20000000";
/// Scrapes per load sample.
const SCRAPES: usize = 200;

/// One `bench_ours DIR MODE TICKS` run: the daemon's ns per tick.
fn overhead(bin_dir: &Path, dir: &Path, mode: &str) -> Option<f64> {
    let o = Command::new(bin_dir.join("bench_ours"))
        .arg(dir)
        .args([mode, TICKS])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&o.stdout);
    let v: Vec<f64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    match v[..] {
        [_bare, ours] => Some(ours),
        _ => None,
    }
}

/// `GET path` on a fresh connection; the time to the whole answer, when it is a 200.
fn scrape(addr: SocketAddr, path: &str) -> Option<Duration> {
    let t = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = Vec::with_capacity(8192);
    s.read_to_end(&mut out).ok()?;
    out.starts_with(b"HTTP/1.1 200").then(|| t.elapsed())
}

/// Start `bench_ours DIR admin-load`, scrape `/metrics` and `/healthz` [`SCRAPES`] times each,
/// stop it; the latencies in µs.
fn under_load(bin_dir: &Path, dir: &Path, metrics: &mut Stat, health: &mut Stat) -> Option<()> {
    let mut child = Command::new(bin_dir.join("bench_ours"))
        .arg(dir)
        .arg("admin-load")
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let log = dir.join("Bench.log");
    let end = Instant::now() + Duration::from_secs(10);
    let addr = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text
            .lines()
            .find_map(|l| l.split("Admin listening on http://").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse::<SocketAddr>().ok());
        if let Some(a) = found {
            break Some(a);
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(addr) = addr {
        // Let the tick thread spin up first.
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..SCRAPES {
            if let Some(d) = scrape(addr, "/metrics") {
                metrics.push(d.as_secs_f64() * 1e6);
            }
            if let Some(d) = scrape(addr, "/healthz") {
                health.push(d.as_secs_f64() * 1e6);
            }
        }
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    addr.map(|_| ())
}

/// The 99th percentile of a sample, for the scrape rows' tail.
fn p99(s: &Stat) -> String {
    let mut v = s.0.clone();
    if v.is_empty() {
        return "n/a".into();
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64) * 0.99).ceil() as usize;
    format!("{} µs", crate::fmt(v[i.saturating_sub(1).min(v.len() - 1)]))
}

/// Print the rows, `runs` pairs of overhead samples and up to 3 load samples; returns what
/// `--check` counts as missing.
pub(crate) fn print(bin_dir: &Path, work: &Path, runs: usize) -> Vec<String> {
    let mut missing = Vec::new();
    let (mut off, mut on) = (Stat::default(), Stat::default());
    for n in 0..runs.min(10) {
        let dir = work.join(format!("admin-overhead-{n}"));
        let _ = std::fs::create_dir_all(&dir);
        if let Some(x) = overhead(bin_dir, &dir, "overhead") {
            off.push(x);
        }
        if let Some(x) = overhead(bin_dir, &dir, "overhead-admin") {
            on.push(x);
        }
    }
    let (mut metrics, mut health) = (Stat::default(), Stat::default());
    for n in 0..runs.clamp(1, 3) {
        let dir = work.join(format!("admin-load-{n}"));
        let _ = std::fs::create_dir_all(&dir);
        if under_load(bin_dir, &dir, &mut metrics, &mut health).is_none() {
            missing.push("admin rows: the admin-load daemon did not listen".into());
        }
    }
    println!();
    println!("| metrics (feature `admin`) | figure | against | goal |");
    println!("|---|---|---|---|");
    println!(
        "| loop overhead per tick, admin off (`{TICKS}` ticks) | {} | | |",
        off.cell("ns")
    );
    let (delta, goal) = match (on.median(), off.median()) {
        (Some(a), Some(b)) => (
            format!("{:+.1} ns against off", a - b),
            if a - b <= 50.0 {
                "<= 50 ns: met"
            } else {
                "<= 50 ns: not met"
            },
        ),
        _ => (String::new(), ""),
    };
    println!(
        "| loop overhead per tick, admin on: the metrics fed | {} | {delta} | {goal} |",
        on.cell("ns")
    );
    println!(
        "| GET /metrics while ticking back to back, fresh connection each ({SCRAPES} x {}) | {} | p99 {} | |",
        runs.clamp(1, 3),
        metrics.cell("µs"),
        p99(&metrics)
    );
    println!(
        "| GET /healthz while ticking back to back | {} | p99 {} | |",
        health.cell("µs"),
        p99(&health)
    );
    let soak = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/soak-last.md");
    match std::fs::read_to_string(&soak) {
        Ok(text) => {
            let (stamp, verdict) = text.trim().split_once(' ').unwrap_or(("0", text.trim()));
            let age = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(stamp.parse().unwrap_or(0));
            println!(
                "| RSS soak, last `--bin soak` run ({} h ago) | {verdict} | | <= 16 KiB after the warm-up |",
                age / 3600
            );
        }
        Err(_) => println!(
            "| RSS soak | not run here: `cargo run --release -p simple-daemon-bench --bin soak -- --minutes 90` | | <= 16 KiB after the warm-up |"
        ),
    }
    for (what, s) in [
        ("admin off", &off),
        ("admin on", &on),
        ("/metrics under load", &metrics),
        ("/healthz under load", &health),
    ] {
        if s.median().is_none() {
            missing.push(format!("admin rows: {what}"));
        }
    }
    missing
}
