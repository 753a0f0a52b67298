//! `cargo run --release -p simple-daemon-bench`: every comparison in one run, pair by pair so
//! machine drift cancels, printed as a markdown table of medians, min-max and ratios.
//!
//! Rows: start-up (exec to first log line, and to `READY=1`), idle RSS and threads, passive and
//! aggressive stop latency, loop overhead per tick; the same for async daemons against the bare
//! tokio limit and tokio-graceful-shutdown ([`async_rows`], `bench_async`); the schedule's
//! bookkeeping per tick ([`schedule_rows`]); the metrics' cost per tick, scrape latency under
//! load and the last soak's RSS figure ([`admin_rows`]); and the logging rows of `log_throughput`.
//! Anchors: the Python seed reference (`bench/seed/`), run with the real interpreter binary, and
//! the bare limit (`bench_bare`). `cargo run` builds only this binary: it builds the ones it runs
//! (`bench_ours`, `bench_bare`, `log_throughput`, `bench_async`) itself first, with the same profile and target
//! directory (`cargo build -p simple-daemon-bench --bins`, a no-op when they are fresh).
//!
//! Options: `--runs N` (default 20), `--no-seed-passive` (skip the one ~60 s sample of the seed's
//! passive stop, which waits out its sleep), `--no-logging` (skip the logging rows), `--lines N`
//! (lines per logging case, default 1,000,000), `--no-macro-cost` (skip the two clean release
//! builds that measure the attribute's cost), `--check` (exit 1 when a row of simple-daemon or
//! of the bare limit has no figure, or the logging rows are missing or failed their line check:
//! what CI runs, in the quick form, so the command cannot silently break), `--baseline PATH`
//! (the first stage's `log_throughput`, for the text rows then and now: [`structured_rows`]).
//! The logging rows include the structured-logging rows of `structured` ([`structured_rows`]).
//! It is a benchmark, not a test: it never fails on a slow machine, it reports.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_bench::proc_status;

mod admin_rows;
mod async_rows;
mod schedule_rows;
mod structured_rows;

/// One implementation under measurement.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    Ours,
    Bare,
    Seed,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Ours => "simple-daemon",
            Who::Bare => "bare limit",
            Who::Seed => "Python seed",
        }
    }
}

struct Env {
    bin_dir: PathBuf,
    python: Option<PathBuf>,
    seed_script: PathBuf,
    work: PathBuf,
}

/// What one start/stop cycle measured.
#[derive(Default)]
struct Sample {
    first_line: f64,
    ready: Option<f64>,
    rss_kib: f64,
    threads: f64,
    stop: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn command(env: &Env, who: Who, mode: &str, dir: &Path) -> Option<Command> {
    let mut c = match who {
        Who::Ours => {
            let mut c = Command::new(env.bin_dir.join("bench_ours"));
            c.arg(dir).arg(mode);
            c
        }
        Who::Bare => {
            let mut c = Command::new(env.bin_dir.join("bench_bare"));
            c.arg(dir.join("bare.log")).arg(mode);
            c
        }
        Who::Seed => {
            let mut c = Command::new(env.python.as_ref()?);
            c.arg(&env.seed_script).arg(dir).arg(mode);
            c
        }
    };
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Some(c)
}

fn wait_child(child: &mut Child, patience: Duration) -> Option<Instant> {
    let end = Instant::now() + patience;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(Instant::now());
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Start, read the first line (and READY), sample RSS and threads when idle, SIGTERM, time the exit.
fn cycle(env: &Env, who: Who, mode: &str, n: usize) -> Option<Sample> {
    let dir = env
        .work
        .join(format!("{}-{mode}-{n}", who.label().replace(' ', "_")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut cmd = command(env, who, mode, &dir)?;
    if who != Who::Seed {
        cmd.env("NOTIFY_SOCKET", &sock_path);
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn().ok()?;
    let mut out = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    out.read_line(&mut line).ok()?;
    let first_line = ms(t0.elapsed());
    let ready = if who == Who::Seed {
        None
    } else {
        let mut buf = [0u8; 256];
        loop {
            let n = sock.recv(&mut buf).ok()?;
            if buf[..n].split(|b| *b == b'\n').any(|l| l == b"READY=1") {
                break Some(ms(t0.elapsed()));
            }
        }
    };
    // Drain stdout in the background so a full pipe never blocks the daemon.
    std::thread::spawn(move || for _ in out.lines() {});
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id();
    let rss_kib = proc_status(pid, "VmRSS:").map_or(f64::NAN, |v| v as f64);
    let threads = proc_status(pid, "Threads:").map_or(f64::NAN, |v| v as f64);
    let t1 = Instant::now();
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let end = wait_child(&mut child, Duration::from_secs(90))?;
    let _ = std::fs::remove_dir_all(&dir);
    Some(Sample {
        first_line,
        ready,
        rss_kib,
        threads,
        stop: ms(end - t1),
    })
}

#[derive(Default, Clone)]
struct Stat(Vec<f64>);

impl Stat {
    fn push(&mut self, v: f64) {
        if v.is_finite() {
            self.0.push(v);
        }
    }
    fn median(&self) -> Option<f64> {
        let mut v = self.0.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        Some(if v.len().is_multiple_of(2) {
            (v[m - 1] + v[m]) / 2.0
        } else {
            v[m]
        })
    }
    fn cell(&self, unit: &str) -> String {
        match self.median() {
            None => "n/a".into(),
            Some(m) => {
                let (lo, hi) = self
                    .0
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
                format!("{} {unit} ({}-{}, n={})", fmt(m), fmt(lo), fmt(hi), self.0.len())
            }
        }
    }
}

fn fmt(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio(a: &Stat, b: &Stat) -> String {
    match (a.median(), b.median()) {
        (Some(x), Some(y)) if y > 0.0 => format!("{:.2}x", x / y),
        _ => "n/a".into(),
    }
}

struct Row {
    name: &'static str,
    unit: &'static str,
    cols: [Stat; 3],
}

/// The binaries this one runs, built beside it.
const SIBLINGS: [&str; 5] = [
    "bench_ours",
    "bench_bare",
    "log_throughput",
    "bench_async",
    "structured",
];

/// Build [`SIBLINGS`] with the profile and target directory this binary was built with: `cargo
/// run -p simple-daemon-bench` builds only the binary it runs.
fn build_siblings(bin_dir: &Path, root: &Path) -> Result<(), String> {
    let profile = bin_dir.file_name().and_then(|p| p.to_str()).unwrap_or("");
    let target_dir = bin_dir
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", bin_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "--quiet", "-p", "simple-daemon-bench", "--bins"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    match profile {
        "debug" => {}
        "release" => {
            c.arg("--release");
        }
        other => {
            c.args(["--profile", other]);
        }
    }
    eprintln!("bench: building the binaries it runs ({})", SIBLINGS.join(", "));
    let st = c
        .status()
        .map_err(|e| format!("cannot run cargo to build {}: {e}", SIBLINGS.join(", ")))?;
    if !st.success() {
        return Err(format!(
            "`cargo build -p simple-daemon-bench --bins` failed ({st})"
        ));
    }
    match SIBLINGS.iter().find(|b| !bin_dir.join(b).is_file()) {
        Some(b) => Err(format!(
            "{} is missing after the build; run `cargo build --release -p simple-daemon-bench --bins`",
            bin_dir.join(b).display()
        )),
        None => Ok(()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20usize);
    let seed_passive = !args.iter().any(|a| a == "--no-seed-passive");
    let logging = !args.iter().any(|a| a == "--no-logging");
    let macro_cost = !args.iter().any(|a| a == "--no-macro-cost");
    let check = args.iter().any(|a| a == "--check");
    let baseline = args
        .iter()
        .position(|a| a == "--baseline")
        .and_then(|i| args.get(i + 1));
    let lines: Option<u64> = args
        .iter()
        .position(|a| a == "--lines")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let exe = std::env::current_exe().expect("current exe");
    let bin_dir = exe.parent().expect("bin dir").to_path_buf();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Err(e) = build_siblings(&bin_dir, root) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let env = Env {
        bin_dir: bin_dir.clone(),
        python: python.clone(),
        seed_script: root.join("seed/simple_daemon_seed.py"),
        work: std::env::temp_dir().join(format!("sd-bench-{}", std::process::id())),
    };
    let _ = std::fs::create_dir_all(&env.work);
    eprintln!("bench: {runs} runs per row, pair by pair; python: {python:?}");

    // The seed's passive stop waits out its 60 s sleep: one sample, in the background.
    let seed_passive = seed_passive.then(|| {
        let env2 = Env {
            work: env.work.join("seed-passive"),
            python: python.clone(),
            bin_dir: bin_dir.clone(),
            seed_script: env.seed_script.clone(),
        };
        std::thread::spawn(move || cycle(&env2, Who::Seed, "passive", 0).map(|s| s.stop))
    });

    let who = [Who::Ours, Who::Bare, Who::Seed];
    let mut rows = vec![
        Row {
            name: "start-up: exec to first log line",
            unit: "ms",
            cols: Default::default(),
        },
        Row {
            name: "start-up: exec to READY=1",
            unit: "ms",
            cols: Default::default(),
        },
        Row {
            name: "idle RSS",
            unit: "KiB",
            cols: Default::default(),
        },
        Row {
            name: "idle threads",
            unit: "",
            cols: Default::default(),
        },
        Row {
            name: "stop latency, passive, SIGTERM in a 60 s interval sleep",
            unit: "ms",
            cols: Default::default(),
        },
        Row {
            name: "stop latency, aggressive, tick blocked in a 60 s sleep",
            unit: "ms",
            cols: Default::default(),
        },
    ];
    for n in 0..runs {
        for mode in ["passive", "aggressive"] {
            for (i, w) in who.iter().enumerate() {
                if *w == Who::Seed && mode == "passive" {
                    continue;
                }
                let Some(s) = cycle(&env, *w, mode, n) else {
                    continue;
                };
                if mode == "aggressive" {
                    rows[0].cols[i].push(s.first_line);
                    if let Some(r) = s.ready {
                        rows[1].cols[i].push(r);
                    }
                    rows[2].cols[i].push(s.rss_kib);
                    rows[3].cols[i].push(s.threads);
                    rows[5].cols[i].push(s.stop);
                } else {
                    rows[4].cols[i].push(s.stop);
                }
            }
        }
    }
    // Loop overhead: the same tick under the daemon and in a bare loop, in one process per pair.
    let mut per_tick = Row {
        name: "loop overhead per tick, interval 0",
        unit: "ns",
        cols: Default::default(),
    };
    for n in 0..runs.min(10) {
        let dir = env.work.join(format!("overhead-{n}"));
        let _ = std::fs::create_dir_all(&dir);
        let out = Command::new(bin_dir.join("bench_ours"))
            .arg(&dir)
            .args(["overhead", "100000000"])
            .output();
        if let Ok(o) = out {
            let s = String::from_utf8_lossy(&o.stdout);
            let v: Vec<f64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            if let [bare, ours] = v[..] {
                per_tick.cols[0].push(ours);
                per_tick.cols[1].push(bare);
            }
        }
    }
    rows.push(per_tick);
    if let Some(h) = seed_passive {
        if let Ok(Some(stop)) = h.join() {
            rows[4].cols[2].push(stop);
        }
    }

    println!(
        "| row | {} | {} | {} | ours / bare | ours / seed |",
        who[0].label(),
        who[1].label(),
        who[2].label()
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            r.cols[0].cell(r.unit),
            r.cols[1].cell(r.unit),
            r.cols[2].cell(r.unit),
            ratio(&r.cols[0], &r.cols[1]),
            ratio(&r.cols[0], &r.cols[2]),
        );
    }
    let mut missing_async = async_rows::print(&bin_dir, &env.work, runs);
    missing_async.extend(schedule_rows::print(runs, 10_000));
    missing_async.extend(admin_rows::print(&bin_dir, &env.work, runs));
    if macro_cost {
        print_macro_cost(root);
    }
    let mut missing: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            [(0, r.name), (1, r.name)]
                .into_iter()
                .filter(|(i, _)| r.cols[*i].median().is_none())
                .map(|(i, name)| format!("{}: {name}", who[i].label()))
        })
        .collect();
    missing.append(&mut missing_async);
    if logging {
        let lt = bin_dir.join("log_throughput");
        let mut cmd = Command::new(&lt);
        if let Some(n) = lines {
            cmd.arg(n.to_string());
        }
        match cmd.output() {
            Ok(o) => {
                let out = String::from_utf8_lossy(&o.stdout);
                println!("\n{out}");
                if !o.status.success() || out.contains("FAIL") {
                    missing.push(format!(
                        "logging rows: log_throughput {} {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    ));
                }
                print_seed_logging(&env, &out, runs.min(3), lines);
            }
            Err(e) => {
                println!("\n(logging rows: cannot run {}: {e})", lt.display());
                missing.push(format!("logging rows: cannot run {}: {e}", lt.display()));
            }
        }
    }
    if logging {
        // The structured rows: one round in the quick `--check` form.
        let n = lines.unwrap_or(1_000_000);
        missing.append(&mut structured_rows::print(
            &bin_dir,
            n,
            if check { 1 } else { 3 },
        ));
        if let Some(old) = baseline {
            structured_rows::print_text_against_baseline(&bin_dir, Path::new(old), n, runs.min(5), &env.work);
        }
    }
    let _ = std::fs::remove_dir_all(&env.work);
    if check && !missing.is_empty() {
        eprintln!("bench --check: {} figure(s) missing:", missing.len());
        for m in &missing {
            eprintln!("  {m}");
        }
        std::process::exit(1);
    }
}

const WITHOUT_ATTRIBUTE: &str = r#"use simple_daemon::{Context, Daemon, Exit, Mode, SimpleDaemon};
use std::time::Duration;

#[derive(Default)]
struct Heartbeat {
    beats: u64,
}

impl Daemon for Heartbeat {
    type Error = std::convert::Infallible;
    fn tick(&mut self, _: &Context) -> Result<(), Self::Error> {
        self.beats += 1;
        simple_daemon::log::info!("beat {}", self.beats);
        Ok(())
    }
}

fn main() -> Exit {
    SimpleDaemon::new("Heartbeat")
        .mode(Mode::Aggressive)
        .interval(Duration::from_secs(2))
        .stream(true)
        .run(Heartbeat::default())
}
"#;

/// Build a one-file crate from scratch in release mode; the wall time in seconds.
fn clean_build(dir: &Path, source: &str, macros: bool, lock: &Path) -> Option<f64> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("src")).ok()?;
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../simple-daemon");
    let features = if macros { "" } else { ", default-features = false" };
    let manifest = format!(
        "[package]\nname = \"heartbeat\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\
         simple-daemon = {{ path = {:?}{features} }}\n\n[workspace]\n",
        runtime.display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).ok()?;
    std::fs::write(dir.join("src/main.rs"), source).ok()?;
    let _ = std::fs::copy(lock, dir.join("Cargo.lock"));
    let t = Instant::now();
    let st = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .ok()?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(dir);
    st.success().then_some(secs)
}

/// The attribute's cost: clean release builds with and without it, and `cargo expand`'s lines.
fn print_macro_cost(root: &Path) {
    let ws = root.join("..");
    let work = std::env::temp_dir().join(format!("sd-bench-macro-{}", std::process::id()));
    let lock = ws.join("Cargo.lock");
    eprintln!("bench: two clean release builds (a few minutes)");
    let without = clean_build(&work.join("without"), WITHOUT_ATTRIBUTE, false, &lock);
    let example = std::fs::read_to_string(ws.join("examples/examples/heartbeat.rs")).unwrap_or_default();
    let with = clean_build(&work.join("with"), &example, true, &lock);
    let cell = |v: Option<f64>| v.map_or("n/a".into(), |s| format!("{s:.1} s (n=1)"));
    println!();
    println!("| the attribute's cost | with `#[daemon]` | builder, `default-features = false` | ratio |");
    println!("|---|---|---|---|");
    let r = match (with, without) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "n/a".into(),
    };
    println!(
        "| clean release build of the heartbeat example | {} | {} | {r} |",
        cell(with),
        cell(without)
    );
    let expanded = Command::new("cargo")
        .args(["expand", "-p", "simple-daemon-examples", "--example", "heartbeat"])
        .current_dir(&ws)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success());
    match expanded {
        Some(o) => {
            let src = std::fs::read_to_string(ws.join("examples/examples/heartbeat.rs")).unwrap_or_default();
            let code = |s: &str| {
                s.lines()
                    .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
                    .count()
            };
            let expanded = String::from_utf8_lossy(&o.stdout);
            // What the attribute adds comes after the user's items, untouched (their own macros,
            // `info!` included, are expanded by `cargo expand` too): its trait impl (from the
            // lint attribute on it) and `main`.
            let generated = expanded
                .find("#[deny(unconditional_recursion)]")
                .or_else(|| expanded.find("impl ::simple_daemon::__private::Daemon for"))
                .map_or(0, |at| code(&expanded[at..]));
            println!(
                "| `cargo expand -p simple-daemon-examples --example heartbeat` | {generated} lines generated by `#[daemon]` | {} lines written by hand | |",
                code(&src)
            );
        }
        None => println!("| `cargo expand -p simple-daemon-examples --example heartbeat` | n/a (`cargo install cargo-expand`) | | |"),
    }
}

/// The seed's logging row: N INFO lines through Python's RotatingFileHandler (1 MiB x 2), beside
/// our default mode's 1-thread, 1 MiB x 2 figure from `log_throughput`'s output.
fn print_seed_logging(env: &Env, log_throughput: &str, runs: usize, lines: Option<u64>) {
    let lines_seed = lines.unwrap_or(100_000).min(100_000);
    let ours: Option<f64> = log_throughput
        .lines()
        .find(|l| l.starts_with("simple-daemon default") && l.split_whitespace().nth(4) == Some("1"))
        .and_then(|l| l.split_whitespace().nth(5)?.parse().ok());
    let mut seed = Stat::default();
    for n in 0..runs {
        let dir = env.work.join(format!("seed-lines-{n}"));
        let _ = std::fs::create_dir_all(&dir);
        let Some(mut cmd) = command(env, Who::Seed, "lines", &dir) else {
            break;
        };
        let t = Instant::now();
        let ok = cmd
            .arg(lines_seed.to_string())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            seed.push(lines_seed as f64 / t.elapsed().as_secs_f64() / 1e3);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let ours_k = ours.map(|v| v / 1e3);
    println!("| logging, 1 thread, 1 MiB x 2 | simple-daemon default (1 write/record) | Python seed | ours / seed |");
    println!("|---|---|---|---|");
    let ratio = match (ours_k, seed.median()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}x", a / b),
        _ => "n/a".into(),
    };
    println!(
        "| k lines/s | {} | {} | {ratio} |",
        ours_k.map_or("n/a".into(), |v| format!("{v:.0} k (n=1)")),
        seed.cell("k")
    );
}
