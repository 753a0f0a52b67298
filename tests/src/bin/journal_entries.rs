//! The journal entries/s case, run inside a real systemd's container by the ignored test
//! `journal_entries_per_second` (tests/tests/systemd_nspawn.rs):
//!
//! `journal_entries ours|ours-file|theirs N RUN LOGDIR`
//!
//! logs N INFO records, each `info!(user = i, run = RUN; "entry {i} the quick brown fox")`,
//! from one thread, then prints the nanoseconds from the first record to the return of the
//! last one. `ours`: a daemon's logger with `journal` on (journald's native socket; the log
//! file, which a daemon always has, in LOGDIR); `ours-file`: the same without `journal` (what
//! the file costs alone); `theirs`: systemd-journal-logger's `JournalLog`, with the same
//! identifier. Both send the same fields: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`,
//! `SYSLOG_PID`, `CODE_FILE`, `CODE_LINE`, `TARGET`, `USER`, `RUN` (theirs adds `CODE_MODULE`).

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(n), Some(run), Some(dir)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
        args.get(3),
        args.get(4),
    ) else {
        eprintln!("usage: journal_entries ours|ours-file|theirs N RUN LOGDIR");
        return ExitCode::from(64);
    };
    let mut guard = None;
    match kind.as_str() {
        "ours" | "ours-file" => {
            let started = simple_daemon::SimpleDaemon::new("jbench")
                .log_path(dir)
                .level("info")
                .journal(kind == "ours")
                .start();
            match started {
                Ok(g) => guard = Some(g),
                Err(e) => {
                    eprintln!("journal_entries: {e}");
                    return ExitCode::from(78);
                }
            }
        }
        "theirs" => {
            let installed = systemd_journal_logger::JournalLog::new()
                .map(|j| j.with_syslog_identifier("jbench".to_owned()))
                .and_then(|j| j.install().map_err(std::io::Error::other));
            if let Err(e) = installed {
                eprintln!("journal_entries: systemd-journal-logger: {e}");
                return ExitCode::from(78);
            }
            log::set_max_level(log::LevelFilter::Info);
        }
        other => {
            eprintln!("journal_entries: unknown case {other:?}");
            return ExitCode::from(64);
        }
    }
    let run = run.as_str();
    let t = Instant::now();
    for i in 0..n {
        log::info!(user = i, run = run; "entry {i} the quick brown fox");
    }
    log::logger().flush();
    println!("{}", t.elapsed().as_nanos());
    drop(guard);
    ExitCode::SUCCESS
}
