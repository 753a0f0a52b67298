//! Shared pieces of the benchmarks: `cargo run --release -p simple-daemon-bench` (the table),
//! `--bin log_throughput` (the logging rows) and `--bin soak` (resource use over a long run).

/// A numeric field of `/proc/PID/status` (`"VmRSS:"` in KiB, `"Threads:"`), or `None` when the
/// process or the field is gone.
///
/// ```
/// let threads = simple_daemon_bench::proc_status(std::process::id(), "Threads:");
/// assert!(threads.is_some_and(|n| n >= 1));
/// ```
pub fn proc_status(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
