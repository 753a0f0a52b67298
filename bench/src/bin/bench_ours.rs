//! simple-daemon under measurement, through the builder API.
//!
//! Usage:
//! - `bench_ours LOG_DIR passive`: a 60 s interval, quick ticks (stop during the interval sleep);
//! - `bench_ours LOG_DIR aggressive`: a tick blocked in a 60 s sleep;
//! - `bench_ours LOG_DIR overhead N`: ticks back to back; prints `bare_ns_per_tick
//!   ours_ns_per_tick`: the same tick in a bare `loop { tick() }` N times, then under the daemon
//!   until it stops itself with SIGTERM after N ticks.
//! - `bench_ours LOG_DIR overhead-admin N`: the same with the admin listener on
//!   (`127.0.0.1:0`), so every tick feeds the metrics.
//! - `bench_ours LOG_DIR admin-load`: ticks back to back (a busy tick thread) with the admin
//!   listener on `127.0.0.1:0`, its address in the `Admin listening on` line, until SIGTERM.

use std::hint::black_box;
use std::time::{Duration, Instant};

use simple_daemon::log::LevelFilter;
use simple_daemon::{Context, Daemon, Exit, Mode, SimpleDaemon};

struct Blocked;

impl Daemon for Blocked {
    type Error = std::convert::Infallible;
    fn tick(&mut self, _: &Context) -> Result<(), Self::Error> {
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    }
}

struct Quick;

impl Daemon for Quick {
    type Error = std::convert::Infallible;
    fn tick(&mut self, _: &Context) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The measured tick: a counter bump, opaque to the optimiser, and a stop after `n`.
struct Counter {
    count: u64,
    n: u64,
    first: Option<Instant>,
}

impl Counter {
    #[inline(never)]
    fn bump(&mut self) -> bool {
        self.count = black_box(self.count + 1);
        self.count == self.n
    }
}

impl Daemon for Counter {
    type Error = std::convert::Infallible;
    fn tick(&mut self, _: &Context) -> Result<(), Self::Error> {
        if self.first.is_none() {
            self.first = Some(Instant::now());
        }
        if self.bump() {
            // SAFETY: raise(3) has no memory-safety preconditions.
            unsafe { libc::raise(libc::SIGTERM) };
        }
        Ok(())
    }
    fn on_stop(&mut self) {
        let ours = self
            .first
            .map_or(0.0, |t| t.elapsed().as_nanos() as f64 / self.count as f64);
        let mut bare = Counter {
            count: 0,
            n: self.n,
            first: None,
        };
        let t = Instant::now();
        while !bare.bump() {}
        let bare_ns = t.elapsed().as_nanos() as f64 / self.n as f64;
        println!("{bare_ns:.3} {ours:.3}");
    }
}

fn main() -> Exit {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(what)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_ours LOG_DIR passive|aggressive|overhead N|overhead-admin N|admin-load");
        return Exit::Usage;
    };
    let b = SimpleDaemon::new("Bench").log_path(dir);
    match what.as_str() {
        "passive" => b.stream(true).interval(Duration::from_secs(60)).run(Quick),
        "aggressive" => b.stream(true).mode(Mode::Aggressive).run(Blocked),
        "overhead" | "overhead-admin" => {
            let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000_000);
            let b = b.level(LevelFilter::Info);
            let b = if what == "overhead-admin" {
                b.admin("127.0.0.1:0")
            } else {
                b
            };
            b.run(Counter {
                count: 0,
                n,
                first: None,
            })
        }
        "admin-load" => b.level(LevelFilter::Info).admin("127.0.0.1:0").run(Quick),
        _ => Exit::Usage,
    }
}
