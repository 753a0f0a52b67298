//! The syslog sink (`syslog`): RFC 3164 datagrams to a local socket, reconnecting by itself.
//!
//! Promises:
//! - each record is ONE datagram in the local form WITHOUT a hostname,
//!   `<PRI>Mmm dd hh:mm:ss NAME[PID]: message` (with a hostname, rsyslog and journald would take
//!   the hostname for the tag), facility `daemon`, the level mapped to a severity (ERROR 3,
//!   WARN 4, INFO 6, DEBUG/TRACE 7), so `journalctl -t NAME` and `journalctl _PID=` find it;
//! - a datagram is at most [`MAX_DATAGRAM`] bytes (8000): a longer record is cut on a UTF-8
//!   character boundary and ends with the marker `...[truncated]`, whatever its size (rsyslog's
//!   default `maxMessageSize` of 8 KiB keeps the first 8094 bytes of a datagram and drops the rest
//!   without a word; journald takes more; the kernel refuses about 200 KiB);
//! - the socket is a [`Peer`]: missing at start is a configuration [`Error`] (exit 78); lost
//!   later, full, back, drained, and the bounded path's deadline are as [`super::dgram`]
//!   promises.
//!
//! Why our own sender and not the `syslog` crate (through fern's `syslog-7` feature): it does not
//! reconnect when the socket goes away, it has no way to send without blocking (the bounded path
//! needs one), and it formats its own time stamp per record; the sender below is a connect, a
//! `send(2)` and a reconnect rule.

use std::path::Path;
use std::time::Instant;

use log::Level;

use crate::error::Error;

use super::dgram::{self, Event, Peer};
use super::format::{Clock, Now};

/// The `daemon` facility (3), shifted into place for `PRI`.
const FACILITY_DAEMON: u8 = 3 << 3;
/// The longest datagram sent, in bytes: a longer record is cut to this, marker included.
pub(crate) const MAX_DATAGRAM: usize = 8000;
/// What ends a cut datagram.
pub(crate) const TRUNCATED: &[u8] = b"...[truncated]";

/// The RFC 3164 severity of a level.
pub(crate) fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// The syslog sink.
pub(crate) struct SyslogSink {
    peer: Peer,
    tag: String,
}

impl SyslogSink {
    /// Connect to `path`; `name` and `pid` make the tag `NAME[PID]`.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] for `syslog` naming the socket when it cannot be reached.
    pub(crate) fn connect(path: &Path, name: &str, pid: u32) -> Result<SyslogSink, Error> {
        let peer =
            Peer::connect(path).map_err(|e| Error::path("syslog", path, "cannot be reached", Some(e)))?;
        Ok(SyslogSink {
            peer,
            tag: format!("{name}[{pid}]: "),
        })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        self.peer.path()
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
        self.peer.take_dropped(deadline)
    }

    /// Send one datagram. With a `deadline`, never block past it.
    pub(crate) fn send(&self, dgram: &[u8], deadline: Option<Instant>) -> Option<Event> {
        self.peer.send(deadline, |s, wait| dgram::send_on(s, dgram, wait))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

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
        assert!(matches!(sink.send(b"<30>again", None), Some(Event::Back)));
        let n = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"<30>again");
        assert!(SyslogSink::connect(&dir.join("none.sock"), "x", 1)
            .err()
            .is_some_and(|e| e.to_string().starts_with("syslog \"")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
