//! A daemon without state: `#[daemon]` on a free `fn tick()`.
//!
//! It logs the system's load average every 10 seconds.
//!
//! Run it: `cargo run --example stateless`. Lines appear on stdout (`stream`) and in the log file
//! (`~/.local/state/Loadavg/Loadavg.log` for a normal user, `/var/log/Loadavg.log` for root):
//!
//! ```text
//! ... - Loadavg - INFO - Mode: PASSIVE
//! ... - Loadavg - INFO - load average: 0.08 0.03 0.01
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C): `Received 15 signal.`, `interrupted == True`,
//! `Graceful Interrupt...`, exit status 0.

use simple_daemon::daemon;
use simple_daemon::log::info;

#[daemon(name = "Loadavg", interval = "10s", stream)]
fn tick() -> std::io::Result<()> {
    let loadavg = std::fs::read_to_string("/proc/loadavg")?;
    let fields: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    info!("load average: {}", fields.join(" "));
    Ok(())
}
