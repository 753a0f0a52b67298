//! A local datagram peer (the syslog socket, journald's native socket): connect, bounded sends,
//! reconnects, and episodes of a full queue. The syslog and journal sinks format; this sends.
//!
//! Promises:
//! - the socket missing at start is an error for the sink to turn into a configuration
//!   [`Error`](crate::error::Error) (exit 78);
//! - the socket lost later is not fatal: [`Event::Lost`] is returned once (the logger turns it
//!   into one warning on the other sinks), records meanwhile go to the other sinks only, and
//!   every record tries to reconnect (a `socket(2)` and a `connect(2)`, which fail at once while
//!   the peer is away), so the first record after the peer is back reaches it: nothing logged
//!   after the peer's return is lost. [`Event::Back`] is returned when sending works again. (A
//!   reconnect at most once a second would drop up to a second of records after the return);
//! - no send waits long for a peer that stopped reading (its queue full): the normal path
//!   blocks at most [`SEND_WAIT`] (`SO_SNDTIMEO`, so the kernel wakes it as soon as there is
//!   room, with no polling), and after one such timeout every datagram is tried once without
//!   waiting (`MSG_DONTWAIT`) and dropped when the queue is still full. The first drop is
//!   [`Event::Full`] (one warning on the other sinks), the first send that works again is
//!   [`Event::Drained`] with the number dropped (one line); the ticks never wait on the peer
//!   for more than [`SEND_WAIT`] per episode. `SO_SNDTIMEO` rather than a non-blocking socket
//!   with a retry loop: one system call per datagram, woken by the kernel, and the bound holds
//!   for every send on the socket;
//! - the bounded path (a `deadline`) sends with `MSG_DONTWAIT` and retries a full socket until
//!   its deadline only, so a stuck peer cannot hold up a stop, and it never waits past the
//!   deadline for the peer's lock either.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lock_until;

/// The longest a send waits for room in a full socket (outside an episode of drops).
pub(crate) const SEND_WAIT: Duration = Duration::from_millis(250);

/// A change of the socket's state, for the logger to report on its other sinks.
#[derive(Debug)]
pub(crate) enum Event {
    /// Sending failed and reconnecting too: records go to the other sinks only for now.
    Lost(io::Error),
    /// Sending works again.
    Back,
    /// The socket is full (its reader stopped reading): datagrams are dropped from now on.
    Full,
    /// The socket takes datagrams again; this many were dropped meanwhile.
    Drained(u64),
}

/// How long a send may wait for room in a full socket.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// Until the socket's `SO_SNDTIMEO` ([`SEND_WAIT`]).
    Kernel,
    /// Until this deadline, retrying without blocking (the bounded path).
    Until(Instant),
    /// Not at all (in an episode of drops).
    No,
}

impl Wait {
    /// The `send(2)`/`sendmsg(2)` flags for this wait.
    pub(crate) fn flags(self) -> libc::c_int {
        match self {
            Wait::Kernel => libc::MSG_NOSIGNAL,
            Wait::Until(_) | Wait::No => libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        }
    }

    /// After a failed system call: `Ok` to try again (interrupted, or full with time left),
    /// `Err` with `WouldBlock` for a full socket, else the error.
    pub(crate) fn again(self, e: io::Error) -> io::Result<()> {
        match (e.raw_os_error(), self) {
            (Some(libc::EINTR), _) => Ok(()),
            (Some(libc::EAGAIN | libc::ENOBUFS), Wait::Until(d)) if Instant::now() < d => {
                std::thread::sleep(Duration::from_micros(500));
                Ok(())
            }
            (Some(libc::EAGAIN | libc::ENOBUFS), _) => Err(io::ErrorKind::WouldBlock.into()),
            _ => Err(e),
        }
    }
}

/// A connected datagram socket at a path, re-connected when lost.
pub(crate) struct Peer {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    sock: Option<UnixDatagram>,
    lost: bool,
    /// In an episode of drops (the socket was full): datagrams are not waited for.
    full: bool,
    /// Datagrams dropped in this episode.
    dropped: u64,
}

fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let s = UnixDatagram::unbound()?;
    s.set_write_timeout(Some(SEND_WAIT))?;
    s.connect(path)?;
    Ok(s)
}

impl Peer {
    /// Connect to `path`.
    ///
    /// # Errors
    ///
    /// The `socket(2)` or `connect(2)` error.
    pub(crate) fn connect(path: &Path) -> io::Result<Peer> {
        let sock = connect(path)?;
        Ok(Peer {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                sock: Some(sock),
                lost: false,
                full: false,
                dropped: 0,
            }),
        })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Datagrams dropped in the episode still going on (for the exit's last word), taken.
    pub(crate) fn take_dropped(&self, deadline: Option<Instant>) -> u64 {
        lock_until(&self.state, deadline).map_or(0, |mut st| std::mem::take(&mut st.dropped))
    }

    /// Send one datagram with `send`, which gets the socket and how long it may wait (it
    /// returns `WouldBlock` for a full socket). With a `deadline`, never block past it.
    pub(crate) fn send(
        &self,
        deadline: Option<Instant>,
        send: impl Fn(&UnixDatagram, Wait) -> io::Result<()>,
    ) -> Option<Event> {
        let mut st = lock_until(&self.state, deadline)?;
        if st.sock.is_none() {
            st.sock = Some(connect(&self.path).ok()?);
        }
        let wait = match deadline {
            _ if st.full => Wait::No,
            Some(d) => Wait::Until(d),
            None => Wait::Kernel,
        };
        let first = st.sock.as_ref().map(|s| send(s, wait));
        let result = match first {
            Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                // Full: the reader is not reading. Dropped, counted, and not waited for again
                // until a send works.
                st.dropped += 1;
                return (!std::mem::replace(&mut st.full, true)).then_some(Event::Full);
            }
            Some(Err(_)) => {
                // The peer may have restarted with a new socket at the same path: reconnect.
                st.sock = None;
                connect(&self.path).and_then(|s| {
                    let r = send(&s, wait);
                    st.sock = Some(s);
                    r
                })
            }
            Some(Ok(())) => Ok(()),
            None => return None,
        };
        match result {
            Ok(()) if st.full => {
                st.full = false;
                let n = std::mem::take(&mut st.dropped);
                Some(Event::Drained(n))
            }
            Ok(()) if st.lost => {
                st.lost = false;
                Some(Event::Back)
            }
            Ok(()) => None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                st.dropped += 1;
                (!std::mem::replace(&mut st.full, true)).then_some(Event::Full)
            }
            Err(e) => {
                st.sock = None;
                if st.lost {
                    None
                } else {
                    st.lost = true;
                    Some(Event::Lost(e))
                }
            }
        }
    }
}

/// One `send(2)` of `dgram`. A full socket is `WouldBlock`: at once with [`Wait::No`], after
/// `SO_SNDTIMEO` with [`Wait::Kernel`], at the deadline with [`Wait::Until`].
pub(crate) fn send_on(s: &UnixDatagram, dgram: &[u8], wait: Wait) -> io::Result<()> {
    loop {
        // SAFETY: the pointer and length describe the live slice `dgram`.
        let n = unsafe { libc::send(s.as_raw_fd(), dgram.as_ptr().cast(), dgram.len(), wait.flags()) };
        if n >= 0 {
            return Ok(());
        }
        wait.again(io::Error::last_os_error())?;
    }
}
