//! The schedule rows: what the drivers' schedule bookkeeping costs per tick (the answer after a
//! successful tick, and one look at whether the next start is due) with a plain `interval` and
//! with a `schedule`, for which it includes computing the next start time in its time zone.
//! Measured in this process through `simple_daemon::__private::bookkeeping_cost`, with no
//! logger installed: a daemon on a calendar also writes one `Next run:` line per run.
//! The goal: computing the next run costs at most 1 µs.

use std::time::Duration;

use simple_daemon::SimpleDaemon;

use crate::Stat;

/// The plans measured: a label and the builder.
fn plans() -> [(&'static str, SimpleDaemon); 4] {
    let b = || SimpleDaemon::new("BenchSchedule");
    [
        ("interval = \"60s\"", b().interval(Duration::from_secs(60))),
        (
            "schedule = \"30 2 * * *\", timezone = \"Europe/Berlin\"",
            b().schedule("30 2 * * *").timezone("Europe/Berlin"),
        ),
        (
            "schedule = \"*/5 * * * * *\", timezone = \"UTC\"",
            b().schedule("*/5 * * * * *").timezone("UTC"),
        ),
        (
            "schedule = \"0 9 * * 1-5\" (local time)",
            b().schedule("0 9 * * 1-5"),
        ),
    ]
}

/// Print the rows, `runs` samples of `ticks` ticks each, round-robin; returns what `--check`
/// counts as missing.
pub(crate) fn print(runs: usize, ticks: u32) -> Vec<String> {
    let plans = plans();
    let mut configs = Vec::new();
    let mut missing = Vec::new();
    for (label, b) in &plans {
        match b.clone().config() {
            Ok(c) => configs.push((*label, Some(c))),
            Err(e) => {
                missing.push(format!("schedule rows: {label}: {e}"));
                configs.push((*label, None));
            }
        }
    }
    let mut stats = vec![Stat::default(); configs.len()];
    for _ in 0..runs {
        for (i, (_, c)) in configs.iter().enumerate() {
            if let Some(c) = c {
                let per = simple_daemon::__private::bookkeeping_cost(c, ticks);
                stats[i].push(per.as_secs_f64() * 1e9);
            }
        }
    }
    println!();
    println!("| schedule bookkeeping per tick ({ticks} ticks per sample) | ns | against the interval | goal: next run <= 1000 ns |");
    println!("|---|---|---|---|");
    for (i, (label, _)) in configs.iter().enumerate() {
        let (against, goal) = match (stats[i].median(), stats[0].median()) {
            (Some(x), Some(base)) if i > 0 => (
                format!("+{} ns", crate::fmt(x - base)),
                if x <= 1000.0 { "met" } else { "not met" }.to_owned(),
            ),
            _ => (String::new(), String::new()),
        };
        println!("| {label} | {} | {against} | {goal} |", stats[i].cell("ns"));
        if stats[i].median().is_none() {
            missing.push(format!("schedule rows: {label}"));
        }
    }
    missing
}
