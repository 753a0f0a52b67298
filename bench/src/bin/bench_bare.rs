//! The bare limit: the least a Rust daemon can do. It logs one line to a file (and stdout),
//! sends `READY=1` when `$NOTIFY_SOCKET` is set, and waits on a condvar (passive) or sleeps 60 s
//! in its "tick" (aggressive) until a signal-hook thread sees SIGTERM.
//!
//! Usage: `bench_bare LOG_FILE passive|aggressive`

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(mode)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_bare LOG_FILE passive|aggressive");
        std::process::exit(64);
    };
    let aggressive = mode == "aggressive";
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let line = format!("PID: {}\n", std::process::id());
    file.write_all(line.as_bytes())?;
    std::io::stdout().write_all(line.as_bytes())?;
    if let Some(sock) = std::env::var_os("NOTIFY_SOCKET") {
        UnixDatagram::unbound()?.send_to(b"READY=1", sock)?;
    }
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let (stop2, mut file2) = (Arc::clone(&stop), file.try_clone()?);
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            if aggressive {
                let _ = file2.write_all(b"Graceful Interrupt...\n");
                // SAFETY: ends the process without waiting for the sleeping main thread.
                unsafe { libc::_exit(0) };
            }
            let (m, c) = &*stop2;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            c.notify_all();
        }
    });
    if aggressive {
        std::thread::sleep(Duration::from_secs(60));
    } else {
        let (m, c) = &*stop;
        let g = m.lock().unwrap_or_else(|e| e.into_inner());
        let _g = c.wait_timeout_while(g, Duration::from_secs(60), |s| !*s);
    }
    file.write_all(b"Graceful Interrupt...\n")
}
