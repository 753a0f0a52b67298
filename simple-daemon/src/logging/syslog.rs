//! The syslog sink (`syslog`): RFC 3164 datagrams to a local socket, reconnecting by itself.
//!
//! Promises:
//! - each record is ONE datagram in the local form WITHOUT a hostname,
//!   `<PRI>Mmm dd hh:mm:ss NAME[PID]: message` (with a hostname, rsyslog and journald would take
//!   the hostname for the tag), facility `daemon`, the level mapped to a severity (ERROR 3,
//!   WARN 4, INFO 6, DEBUG/TRACE 7), so `journalctl -t NAME` and `journalctl _PID=` find it;
//! - the socket missing at start is a configuration [`Error`] (exit 78);
//! - the socket lost later is not fatal: [`Event::Lost`] is returned once (the logger turns it
//!   into one warning on the other sinks), records meanwhile go to the other sinks only, a
//!   reconnect is tried at most once a second, and [`Event::Back`] is returned when sending works
//!   again;
//! - a datagram is at most [`MAX_DATAGRAM`] bytes (8000): a longer record is cut on a UTF-8
//!   character boundary and ends with the marker `...[truncated]`, whatever its size (rsyslog's
//!   default `maxMessageSize` of 8 KiB keeps the first 8094 bytes of a datagram and drops the rest
//!   without a word; journald takes more; the kernel refuses about 200 KiB);
//! - no send waits long for a peer that stopped reading (its queue full): the normal path
//!   blocks at most [`SEND_WAIT`] (`SO_SNDTIMEO`, so the kernel wakes it as soon as there is
//!   room, with no polling), and after one such timeout every datagram is tried once without
//!   waiting (`MSG_DONTWAIT`) and dropped when the queue is still full. The first drop is
//!   [`Event::Full`] (one warning on the other sinks), the first send that works again is
//!   [`Event::Drained`] with the number dropped (one line); the ticks never wait on syslog for
//!   more than [`SEND_WAIT`] per episode. `SO_SNDTIMEO` rather than a non-blocking socket with a
//!   retry loop: one system call per datagram, woken by the kernel, and the bound holds for
//!   every send on the socket;
//! - the bounded path sends with `MSG_DONTWAIT` and retries a full socket until its deadline
//!   only, so a stuck syslog daemon cannot hold up a stop.
//!
//! Why our own sender and not the `syslog` crate (through fern's `syslog-7` feature): it does not
//! reconnect when the socket goes away, it has no way to send without blocking (the bounded path
//! needs one), and it formats its own time stamp per record; the sender below is a connect, a
//! `send(2)` and a reconnect rule.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::Level;

use crate::error::Error;

use super::format::{Clock, Now};
use super::lock_until;

/// The `daemon` facility (3), shifted into place for `PRI`.
const FACILITY_DAEMON: u8 = 3 << 3;
/// How often a lost socket is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// The longest datagram sent, in bytes: a longer record is cut to this, marker included.
pub(crate) const MAX_DATAGRAM: usize = 8000;
/// What ends a cut datagram.
pub(crate) const TRUNCATED: &[u8] = b"...[truncated]";
/// The longest a send waits for room in a full socket (outside an episode of drops).
pub(crate) const SEND_WAIT: Duration = Duration::from_millis(250);

/// The RFC 3164 severity of a level.
pub(crate) fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

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

/// The syslog sink.
pub(crate) struct SyslogSink {
    path: PathBuf,
    tag: String,
    state: Mutex<State>,
}

struct State {
    sock: Option<UnixDatagram>,
    lost: bool,
    retry_at: Instant,
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

impl SyslogSink {
    /// Connect to `path`; `name` and `pid` make the tag `NAME[PID]`.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] for `syslog` naming the socket when it cannot be reached.
    pub(crate) fn connect(path: &Path, name: &str, pid: u32) -> Result<SyslogSink, Error> {
        let sock = connect(path).map_err(|e| Error::path("syslog", path, "cannot be reached", Some(e)))?;
        Ok(SyslogSink {
            path: path.to_path_buf(),
            tag: format!("{name}[{pid}]: "),
            state: Mutex::new(State {
                sock: Some(sock),
                lost: false,
                retry_at: Instant::now(),
                full: false,
                dropped: 0,
            }),
        })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Append the datagram for a record to `out`.
    pub(crate) fn datagram(
        &self,
        out: &mut Vec<u8>,
        level: Level,
        clock: &mut Clock,
        now: Now,
        message: &[u8],
    ) {
        let pri = FACILITY_DAEMON | severity(level);
        out.push(b'<');
        if pri >= 10 {
            out.push(b'0' + pri / 10);
        }
        out.push(b'0' + pri % 10);
        out.push(b'>');
        clock.write_syslog(out, now);
        out.push(b' ');
        out.extend_from_slice(self.tag.as_bytes());
        out.extend_from_slice(message);
        truncate(out);
    }

    /// Datagrams dropped in the episode still going on (for the exit's last word), taken.
    pub(crate) fn take_dropped(&self, deadline: Option<Instant>) -> u64 {
        lock_until(&self.state, deadline).map_or(0, |mut st| std::mem::take(&mut st.dropped))
    }

    /// Send one datagram. With a `deadline`, never block past it.
    pub(crate) fn send(&self, dgram: &[u8], deadline: Option<Instant>) -> Option<Event> {
        let mut st = lock_until(&self.state, deadline)?;
        if st.sock.is_none() {
            if Instant::now() < st.retry_at {
                return None;
            }
            match connect(&self.path) {
                Ok(s) => st.sock = Some(s),
                Err(_) => {
                    st.retry_at = Instant::now() + RETRY;
                    return None;
                }
            }
        }
        let wait = match deadline {
            _ if st.full => Wait::No,
            Some(d) => Wait::Until(d),
            None => Wait::Kernel,
        };
        let first = st.sock.as_ref().map(|s| send_on(s, dgram, wait));
        let result = match first {
            Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                // Full: the reader is not reading. Dropped, counted, and not waited for again
                // until a send works.
                st.dropped += 1;
                return (!std::mem::replace(&mut st.full, true)).then_some(Event::Full);
            }
            Some(Err(_)) => {
                // The daemon may have restarted with a new socket at the same path: reconnect
                // once at once, then every RETRY.
                st.sock = None;
                connect(&self.path).and_then(|s| {
                    let r = send_on(&s, dgram, wait);
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
                st.retry_at = Instant::now() + RETRY;
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

/// Cut a datagram longer than [`MAX_DATAGRAM`] on a UTF-8 character boundary and end it with
/// [`TRUNCATED`].
fn truncate(out: &mut Vec<u8>) {
    if out.len() <= MAX_DATAGRAM {
        return;
    }
    let mut end = MAX_DATAGRAM - TRUNCATED.len();
    while end > 0 && (out[end] & 0xC0) == 0x80 {
        end -= 1; // `out[end]` continues a character: cut before the character
    }
    out.truncate(end);
    out.extend_from_slice(TRUNCATED);
}

/// How long a send may wait for room in a full socket.
#[derive(Clone, Copy)]
enum Wait {
    /// Until the socket's `SO_SNDTIMEO` ([`SEND_WAIT`]).
    Kernel,
    /// Until this deadline, retrying without blocking (the bounded path).
    Until(Instant),
    /// Not at all (in an episode of drops).
    No,
}

/// One `send(2)`. A full socket is `WouldBlock`: at once with [`Wait::No`], after
/// `SO_SNDTIMEO` with [`Wait::Kernel`], at the deadline with [`Wait::Until`].
fn send_on(s: &UnixDatagram, dgram: &[u8], wait: Wait) -> io::Result<()> {
    let flags = match wait {
        Wait::Kernel => libc::MSG_NOSIGNAL,
        Wait::Until(_) | Wait::No => libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
    };
    loop {
        // SAFETY: the pointer and length describe the live slice `dgram`.
        let n = unsafe { libc::send(s.as_raw_fd(), dgram.as_ptr().cast(), dgram.len(), flags) };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match (e.raw_os_error(), wait) {
            (Some(libc::EINTR), _) => {}
            (Some(libc::EAGAIN | libc::ENOBUFS), Wait::Until(d)) if Instant::now() < d => {
                std::thread::sleep(Duration::from_micros(500));
            }
            (Some(libc::EAGAIN | libc::ENOBUFS), _) => return Err(io::ErrorKind::WouldBlock.into()),
            _ => return Err(e),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_datagram_is_cut_on_a_character_with_the_marker() {
        for prefix in ["", "a", "aa"] {
            let mut d = prefix.as_bytes().to_vec();
            while d.len() < 3 * MAX_DATAGRAM {
                d.extend_from_slice("€".as_bytes());
            }
            truncate(&mut d);
            assert!(
                d.len() <= MAX_DATAGRAM && d.len() > MAX_DATAGRAM - 3,
                "{}",
                d.len()
            );
            assert!(d.ends_with(TRUNCATED));
            assert!(std::str::from_utf8(&d).is_ok(), "cut inside a character");
        }
        let mut short = b"<30>x".to_vec();
        truncate(&mut short);
        assert_eq!(short, b"<30>x");
        let mut exact = vec![b'x'; MAX_DATAGRAM];
        truncate(&mut exact);
        assert_eq!(exact.len(), MAX_DATAGRAM, "a datagram at the limit is whole");
    }

    #[test]
    fn datagram_is_local_rfc3164_without_hostname() {
        let dir = std::env::temp_dir().join(format!("sd-syslog-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("log.sock");
        let rx = UnixDatagram::bind(&path).expect("bind");
        let sink = SyslogSink::connect(&path, "MyDaemon", 4242).expect("connect");
        let mut out = Vec::new();
        sink.datagram(&mut out, Level::Info, &mut Clock::new(), Now::get(), b"hello");
        assert!(sink.send(&out, None).is_none());
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).expect("recv");
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        // <30>Nov 24 02:32:07 MyDaemon[4242]: hello
        assert!(got.starts_with("<30>"), "{got}");
        assert_eq!(&got[19..], " MyDaemon[4242]: hello", "{got}");
        assert_eq!(got.as_bytes()[7], b' ');

        // Lost, then back: one Lost, silence, one Back.
        drop(rx);
        std::fs::remove_file(&path).expect("rm");
        assert!(matches!(sink.send(b"<30>x", None), Some(Event::Lost(_))));
        assert!(sink.send(b"<30>x", None).is_none());
        let rx = UnixDatagram::bind(&path).expect("bind again");
        sink.state.lock().expect("lock").retry_at = Instant::now();
        assert!(matches!(sink.send(b"<30>again", None), Some(Event::Back)));
        let n = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"<30>again");
        assert!(SyslogSink::connect(&dir.join("none.sock"), "x", 1)
            .err()
            .is_some_and(|e| e.to_string().starts_with("syslog \"")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
