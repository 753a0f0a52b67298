//! An async poller (feature `tokio`) that talks to a local TCP server it starts itself.
//!
//! Run it: `cargo run --example async_poller`. `new` binds an echo server to a free loopback
//! port (127.0.0.1 only); the first tick starts it as a task that ends when the daemon is asked
//! to stop (`Context::stopped()`). Every 2 s `tick` connects, sends `ping <n>`, and logs the
//! answer, on stdout (`stream`) and in the log file:
//!
//! ```text
//! 2026-12-01 21:50:00,125 - Poller - INFO - Mode: PASSIVE
//! 2026-12-01 21:50:00,126 - Poller - INFO - echo server on 127.0.0.1:40163
//! 2026-12-01 21:50:00,127 - Poller - INFO - poll 1: sent "ping 1", got "ping 1" in 412 microseconds
//! ```
//!
//! `kill -TERM <pid>` (or Ctrl-C) is a passive stop: a poll in progress finishes (each step is
//! bounded by a 1 s timeout), the sleep between polls ends at once, `on_stop` logs the count,
//! the server task sees `stopped()` complete and says so before `Graceful Interrupt...`, and the
//! process exits 0.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use simple_daemon::log::{info, warn};
use simple_daemon::{daemon, Context};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// How long one step of a poll (connect, send, read) may take.
const STEP: Duration = Duration::from_secs(1);

struct Poller {
    /// The bound server, until the first tick starts it.
    listener: Option<TcpListener>,
    addr: SocketAddr,
    polls: u64,
}

#[daemon(name = "Poller", interval = "2s", stream)]
impl Poller {
    async fn new() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        info!("echo server on {addr}");
        Ok(Poller {
            listener: Some(listener),
            addr,
            polls: 0,
        })
    }

    async fn tick(&mut self, ctx: &Context) -> std::io::Result<()> {
        if let Some(listener) = self.listener.take() {
            tokio::spawn(serve(listener, ctx.stopped()));
        }
        self.polls += 1;
        let n = self.polls;
        let started = Instant::now();
        let sent = format!("ping {n}");
        match timeout(STEP * 3, exchange(self.addr, &sent)).await {
            Ok(Ok(got)) => info!(
                "poll {n}: sent {sent:?}, got {got:?} in {} microseconds",
                started.elapsed().as_micros()
            ),
            Ok(Err(e)) => warn!("poll {n}: {e}"),
            Err(_) => warn!("poll {n}: no answer within {:?}", STEP * 3),
        }
        Ok(())
    }

    async fn on_stop(&mut self) {
        info!("stopped after {} polls", self.polls);
    }
}

/// One poll: connect, send `line`, read the answer's line.
async fn exchange(addr: SocketAddr, line: &str) -> std::io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(format!("{line}\n").as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await?;
    Ok(answer.trim_end().to_owned())
}

/// The echo server: each connection gets its lines back, until a stop is requested.
async fn serve(listener: TcpListener, token: impl std::future::Future<Output = ()> + Send + 'static) {
    tokio::pin!(token);
    loop {
        tokio::select! {
            () = &mut token => {
                info!("echo server: stop requested, closing");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        let (read, mut write) = stream.into_split();
                        let mut lines = BufReader::new(read).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if write.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(e) => warn!("echo server: accept failed: {e}"),
            },
        }
    }
}
