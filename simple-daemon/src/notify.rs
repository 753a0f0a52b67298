//! The systemd notification protocol (`sd_notify`): readiness, status, watchdog, reload, stop.
//!
//! Promises: nothing is sent, and nothing fails, when `$NOTIFY_SOCKET` is unset; the variable is
//! never unset (a child process the daemon starts sees it too); the environment is read once, at
//! start-up, never again (no thread reads it while user code might change it); each message is
//! one datagram, so `RELOADING=1` and its `MONOTONIC_USEC=` arrive together; a send never blocks
//! longer than [`SEND_TIMEOUT`] (the signal thread sends on its way to an aggressive exit) and
//! a send error never stops the daemon.
//!
//! Messages: `READY=1` (start-up done), `STATUS=<one line>`, `WATCHDOG=1` (at most every half
//! `$WATCHDOG_USEC`, and only when `$WATCHDOG_PID` is unset or names this process),
//! `RELOADING=1` + `MONOTONIC_USEC=<CLOCK_MONOTONIC µs>`, `STOPPING=1`, and
//! `EXTEND_TIMEOUT_USEC=<µs>` while a passive stop waits for the tick in progress, within
//! `stop_timeout` (never without one: `TimeoutStopSec=` stays the bound on a tick that never ends).
//!
//! # Why not the `sd-notify` crate
//!
//! `sd-notify` 0.5.0 was read and rejected, because it does not do all of this correctly:
//! - an abstract `$NOTIFY_SOCKET` (`@name`, which systemd documents and container managers use)
//!   is passed to `connect(2)` as a file-system path named `@name`, so nothing arrives;
//! - `NotifyState::Status` is written as is: a status with a newline injects other assignments
//!   (`"ok\nREADY=1"`), where we send only its first line;
//! - every `notify` call re-reads `$NOTIFY_SOCKET` and creates and connects a new socket; we read
//!   the environment once and keep one socket, which matters on the signal thread;
//! - sends have no timeout, so a peer that stops reading could hang an aggressive stop;
//! - `watchdog_enabled` accepts `WATCHDOG_USEC=0` (a zero half-period: a ping on every poll) and
//!   takes a malformed `WATCHDOG_PID` for "this process". (Its old bug, requiring
//!   `WATCHDOG_PID`, is fixed in 0.5.0.)
//!
//! What we need of the protocol is about a hundred lines, so the crate would save little.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest one notification may wait for room in the receiver's queue.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// How long each `EXTEND_TIMEOUT_USEC=` extends systemd's stop timeout; it is sent again every
/// half of it while a passive stop waits for the tick in progress.
pub(crate) const EXTEND_STEP: Duration = Duration::from_secs(10);

/// A connection to systemd's notification socket, or nothing.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub(crate) fn disabled() -> Self {
        Notifier {
            socket: None,
            watchdog: None,
        }
    }

    /// From `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID`.
    ///
    /// Malformed values are reported in the returned warnings and ignored (the documented
    /// fallback: run without that part of the protocol).
    pub(crate) fn from_env() -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let socket = match std::env::var_os("NOTIFY_SOCKET") {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => {
                let bytes = std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str());
                let shown = String::from_utf8_lossy(bytes).into_owned();
                let addr = if let Some(name) = bytes.strip_prefix(b"@") {
                    SocketAddr::from_abstract_name(name)
                } else if bytes.first() == Some(&b'/') {
                    SocketAddr::from_pathname(&v)
                } else {
                    Err(std::io::Error::other(
                        "it is neither an absolute path nor an abstract socket name (@name)",
                    ))
                };
                let socket = addr.and_then(|addr| {
                    let sock = UnixDatagram::unbound()?;
                    sock.set_write_timeout(Some(SEND_TIMEOUT))?;
                    Ok((sock, addr))
                });
                match socket {
                    Ok(s) => Some(s),
                    Err(e) => {
                        warnings.push(format!(
                            "cannot use NOTIFY_SOCKET {shown:?}: {e}; not notifying systemd"
                        ));
                        None
                    }
                }
            }
        };
        let watchdog = match std::env::var("WATCHDOG_USEC") {
            Err(_) => None,
            Ok(v) => match v.parse::<u64>() {
                Ok(0) | Err(_) => {
                    warnings.push(format!(
                        "WATCHDOG_USEC {v:?} is not a positive number of microseconds; watchdog off"
                    ));
                    None
                }
                Ok(us) => {
                    let for_us = match std::env::var("WATCHDOG_PID") {
                        Err(_) => true,
                        Ok(p) => match p.parse::<u32>() {
                            Ok(pid) => pid == std::process::id(),
                            Err(_) => {
                                warnings
                                    .push(format!("WATCHDOG_PID {p:?} is not a process id; watchdog off"));
                                false
                            }
                        },
                    };
                    for_us.then(|| Duration::from_micros(us))
                }
            },
        };
        let watchdog = if socket.is_some() { watchdog } else { None };
        (Notifier { socket, watchdog }, warnings)
    }

    /// Whether a notification socket is configured.
    pub(crate) fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// The watchdog period systemd asked for, when it is for this process.
    pub(crate) fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Send one datagram; errors are ignored (systemd may be gone while we stop).
    pub(crate) fn send(&self, msg: &str) {
        if let Some((sock, addr)) = &self.socket {
            let _ = sock.send_to_addr(msg.as_bytes(), addr);
        }
    }

    pub(crate) fn ready(&self) {
        self.send("READY=1");
    }

    pub(crate) fn status(&self, status: &str) {
        if self.enabled() {
            // A status is one line: systemd's protocol separates assignments by newlines.
            let line = status.lines().next().unwrap_or("");
            self.send(&format!("STATUS={line}"));
        }
    }

    pub(crate) fn stopping(&self) {
        self.send("STOPPING=1");
    }

    pub(crate) fn reloading(&self) {
        if self.enabled() {
            self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
        }
    }

    pub(crate) fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// Ask systemd to wait `by` longer than its current timeout (`TimeoutStopSec=` during a
    /// stop) for the next message.
    pub(crate) fn extend_timeout(&self, by: Duration) {
        if self.enabled() {
            self.send(&format!("EXTEND_TIMEOUT_USEC={}", by.as_micros()));
        }
    }
}

/// The watchdog pinger: sends `WATCHDOG=1` at most every half period, whoever asks (the tick
/// loop between ticks, the guard's `sleep`, a tick's `Context::keep_alive`); one pinger per
/// daemon, so callers never double up. Lock-free: a tick may call it in a tight loop.
#[derive(Debug)]
pub(crate) struct Watchdog {
    base: Instant,
    half_ns: u64,
    /// When the next ping is due, in nanoseconds since `base`.
    next_ns: AtomicU64,
}

impl Watchdog {
    pub(crate) fn new(n: &Notifier) -> Option<Self> {
        n.watchdog_period().map(|p| Watchdog {
            base: Instant::now(),
            // A period of a few microseconds must not turn the loop into a busy ping.
            half_ns: u64::try_from((p / 2).max(Duration::from_millis(1)).as_nanos()).unwrap_or(u64::MAX / 2),
            next_ns: AtomicU64::new(0),
        })
    }

    /// The instant by which the next ping is due.
    pub(crate) fn due(&self) -> Instant {
        let next = Duration::from_nanos(self.next_ns.load(Ordering::Acquire));
        self.base.checked_add(next).unwrap_or(self.base)
    }

    /// Ping when due. Of callers racing for one due ping, exactly one sends it.
    pub(crate) fn poll(&self, n: &Notifier, now: Instant) {
        let at = u64::try_from(now.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX / 2);
        let next = self.next_ns.load(Ordering::Acquire);
        if at >= next
            && self
                .next_ns
                .compare_exchange(
                    next,
                    at.saturating_add(self.half_ns),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            n.watchdog();
        }
    }
}

/// `CLOCK_MONOTONIC` in microseconds, as systemd's `MONOTONIC_USEC=` wants it.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}
