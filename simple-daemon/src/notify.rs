//! The systemd notification protocol (`sd_notify`): readiness, status, watchdog, reload, stop.
//!
//! Promises: nothing is sent, and nothing fails, when `$NOTIFY_SOCKET` is unset; the variable is
//! never unset (a child process the daemon starts sees it too); each message is one datagram; a
//! send error never stops the daemon.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// A connection to systemd's notification socket, or nothing.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: Option<(UnixDatagram, Target)>,
    watchdog: Option<Duration>,
}

#[derive(Debug)]
enum Target {
    Path(std::path::PathBuf),
    Abstract(Vec<u8>),
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
                let bytes = std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec();
                let target = if let Some(name) = bytes.strip_prefix(b"@") {
                    Some(Target::Abstract(name.to_vec()))
                } else if bytes.first() == Some(&b'/') {
                    Some(Target::Path(std::path::PathBuf::from(v)))
                } else {
                    warnings.push(format!(
                        "NOTIFY_SOCKET {:?} is neither an absolute path nor an abstract socket name; not notifying systemd",
                        String::from_utf8_lossy(&bytes)
                    ));
                    None
                };
                match (target, UnixDatagram::unbound()) {
                    (Some(t), Ok(s)) => Some((s, t)),
                    (Some(_), Err(e)) => {
                        warnings.push(format!(
                            "cannot create a socket for NOTIFY_SOCKET: {e}; not notifying systemd"
                        ));
                        None
                    }
                    (None, _) => None,
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
        let Some((sock, target)) = &self.socket else {
            return;
        };
        let _ = match target {
            Target::Path(p) => sock.send_to(msg.as_bytes(), p),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                match std::os::unix::net::SocketAddr::from_abstract_name(name) {
                    Ok(addr) => sock.send_to_addr(msg.as_bytes(), &addr),
                    Err(e) => Err(e),
                }
            }
        };
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
}

/// A watchdog pinger that sends `WATCHDOG=1` at most every half period.
#[derive(Debug)]
pub(crate) struct Watchdog {
    half: Duration,
    next: Instant,
}

impl Watchdog {
    pub(crate) fn new(n: &Notifier) -> Option<Self> {
        n.watchdog_period().map(|p| Watchdog {
            half: p / 2,
            next: Instant::now(),
        })
    }

    /// The instant by which the next ping is due.
    pub(crate) fn due(&self) -> Instant {
        self.next
    }

    /// Ping when due.
    pub(crate) fn poll(&mut self, n: &Notifier, now: Instant) {
        if now >= self.next {
            n.watchdog();
            self.next = now + self.half;
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
