//! The async subjects of the bench's async rows (`bench/src/async_rows.rs`): one job, three
//! implementations.
//!
//! Usage: `bench_async ours|bare|tgs idle|busy|aggressive|blocking LOG_DIR`
//!
//! - `ours`: simple-daemon's tokio driver (`run_tokio`, multi-thread);
//! - `bare`: the bare tokio limit, `#[tokio::main]`-style with a SIGTERM `select!`;
//! - `tgs`: tokio-graceful-shutdown (`Toplevel`, `catch_signals`, `cancel_on_shutdown`).
//!
//! Cases: `idle` (passive; quick ticks every 60 s: SIGTERM lands in the sleep), `busy` (passive;
//! a 300 ms async tick back to back: the stop waits for the tick in progress), `aggressive` (the
//! tick awaits a 60 s sleep: the stop cancels it), `blocking` (aggressive; the tick blocks its
//! thread in a 60 s `std::thread::sleep`). Each prints `started` on stdout at its first tick.

use std::time::Duration;

use simple_daemon::{AsyncDaemon, Context, Exit, Mode, SimpleDaemon};

const BUSY: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

fn started() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "started");
    let _ = out.flush();
}

/// The tick of `case`.
async fn work(case: &str) {
    match case {
        "busy" => tokio::time::sleep(BUSY).await,
        "aggressive" => tokio::time::sleep(LONG).await,
        "blocking" => std::thread::sleep(LONG),
        _ => {}
    }
}

struct Ours {
    case: String,
    first: bool,
}

impl AsyncDaemon for Ours {
    type Error = std::convert::Infallible;
    async fn tick(&mut self, _ctx: &Context) -> Result<(), Self::Error> {
        if std::mem::take(&mut self.first) {
            started();
        }
        work(&self.case).await;
        Ok(())
    }
}

fn ours(case: &str, dir: &str) -> Exit {
    let mut b = SimpleDaemon::new("BenchAsync").log_path(dir);
    match case {
        "idle" => b = b.interval(LONG),
        "aggressive" | "blocking" => b = b.mode(Mode::Aggressive),
        _ => {}
    }
    b.run_tokio(Ours {
        case: case.to_owned(),
        first: true,
    })
}

fn bare(case: &str) -> Exit {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        return Exit::Failed;
    };
    rt.block_on(async {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return;
        };
        started();
        match case {
            // The stop cancels the tick where it waits.
            "aggressive" | "blocking" => {
                tokio::select! {
                    _ = term.recv() => {}
                    () = work(case) => {}
                }
            }
            // The tick runs to its end; the sleep between ticks is cut short.
            _ => loop {
                work(case).await;
                let pause = if case == "idle" { LONG } else { Duration::ZERO };
                tokio::select! {
                    biased;
                    _ = term.recv() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            },
        }
    });
    Exit::Stopped
}

fn tgs(case: &str) -> Exit {
    use tokio_graceful_shutdown::{FutureExt, SubsystemBuilder, SubsystemHandle, Toplevel};
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        return Exit::Failed;
    };
    let case = case.to_owned();
    let result = rt.block_on(async move {
        Toplevel::new(move |s| async move {
            s.start(SubsystemBuilder::new(
                "tick",
                move |subsys: SubsystemHandle| async move {
                    started();
                    match case.as_str() {
                        "aggressive" | "blocking" => {
                            let _ = work(&case).cancel_on_shutdown(&subsys).await;
                        }
                        _ => loop {
                            work(&case).await;
                            let pause = if case == "idle" { LONG } else { Duration::ZERO };
                            tokio::select! {
                                biased;
                                () = subsys.on_shutdown_requested() => break,
                                () = tokio::time::sleep(pause) => {}
                            }
                        },
                    }
                    Ok::<(), std::io::Error>(())
                },
            ));
        })
        .catch_signals()
        .handle_shutdown_requests(Duration::from_secs(30))
        .await
    });
    if result.is_ok() {
        Exit::Stopped
    } else {
        Exit::Failed
    }
}

fn main() -> Exit {
    let args: Vec<String> = std::env::args().collect();
    let (Some(who), Some(case), Some(dir)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: bench_async ours|bare|tgs idle|busy|aggressive|blocking LOG_DIR");
        return Exit::Usage;
    };
    match who.as_str() {
        "ours" => ours(case, dir),
        "bare" => bare(case),
        "tgs" => tgs(case),
        _ => Exit::Usage,
    }
}
