//! The structured-logging rows: the `structured` binary's table (JSON and text with a field
//! against tracing-subscriber's `json` and `fmt` layers, direct and through tracing-appender's
//! non-blocking writer, `tracing` events through the bridge, a disabled target's cost), and the
//! text rows of today against the first stage's, side by side.
//!
//! The first stage's figures need its build: `--baseline PATH` names the `log_throughput` binary
//! built at the first stage's commit (`git worktree add /tmp/old 30b8fd7 && cd /tmp/old && cargo
//! build --release -p simple-daemon-bench --bin log_throughput`, then
//! `--baseline /tmp/old/target/release/log_throughput`). Its child command line
//! (`--child ours|ours-buffered THREADS LINES BACKUPS DIR`, printing nanoseconds) is today's,
//! so each pair of cases runs alternately, in one run.

use std::path::Path;
use std::process::Command;

use crate::Stat;

/// Print the `structured` table (`lines` records a case, `rounds` rounds); returns what
/// `--check` counts as missing.
pub(crate) fn print(bin_dir: &Path, lines: u64, rounds: usize) -> Vec<String> {
    let exe = bin_dir.join("structured");
    match Command::new(&exe)
        .arg(lines.to_string())
        .arg(rounds.to_string())
        .output()
    {
        Ok(o) => {
            let out = String::from_utf8_lossy(&o.stdout);
            println!("\n{out}");
            if o.status.success() && !out.contains("FAIL") && out.contains("ns/call") {
                Vec::new()
            } else {
                vec![format!(
                    "structured rows: {} {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                )]
            }
        }
        Err(e) => vec![format!("structured rows: cannot run {}: {e}", exe.display())],
    }
}

/// One `log_throughput --child` case: lines/s.
fn rate(exe: &Path, kind: &str, threads: usize, lines: u64, dir: &Path) -> Option<f64> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).ok()?;
    let out = Command::new(exe)
        .args(["--child", kind])
        .arg(threads.to_string())
        .arg(lines.to_string())
        .arg("2")
        .arg(dir)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(dir);
    let nanos: f64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    (out.status.success() && nanos > 0.0).then(|| lines as f64 / (nanos / 1e9))
}

/// The seed-format text rows (1 MiB x 2 backups) of `baseline` (the first stage's
/// `log_throughput`) and of today's, alternately, `rounds` times each.
pub(crate) fn print_text_against_baseline(
    bin_dir: &Path,
    baseline: &Path,
    lines: u64,
    rounds: usize,
    work: &Path,
) {
    let ours = bin_dir.join("log_throughput");
    println!(
        "\n| text, seed format, 1 MiB x 2, {lines} lines | first stage ({}) | now | now / first stage |",
        baseline.display()
    );
    println!("|---|---|---|---|");
    for (kind, label) in [
        ("ours", "default (1 write/record)"),
        ("ours-buffered", "buffered"),
    ] {
        for threads in [1usize, 4] {
            let (mut old, mut new) = (Stat::default(), Stat::default());
            for r in 0..rounds {
                let dir = work.join(format!("text-{kind}-{threads}-{r}"));
                if let Some(v) = rate(baseline, kind, threads, lines, &dir) {
                    old.push(v / 1e3);
                }
                if let Some(v) = rate(&ours, kind, threads, lines, &dir) {
                    new.push(v / 1e3);
                }
            }
            println!(
                "| {label}, {threads} thread{} | {} | {} | {} |",
                if threads == 1 { "" } else { "s" },
                old.cell("k/s"),
                new.cell("k/s"),
                crate::ratio(&new, &old)
            );
        }
    }
}
