//! The stdout sink (`stream`).
//!
//! Promises:
//! - lines are written straight to file descriptor 1 with `write(2)`, not through std's
//!   `Stdout` (whose lock a user's `println!` may hold): the sink has its own lock, so records
//!   never interleave inside a line, and the bounded path (signal thread, panic hook) waits for
//!   a full pipe with `poll(2)` until its deadline only;
//! - when `$JOURNAL_STREAM` (`device:inode`) names the file fd 1 is, each line is
//!   `<N>message` with the sd-daemon priority prefix (ERROR 3, WARN 4, INFO 6, DEBUG/TRACE 7)
//!   and no time stamp of its own (journald adds one); every line of a multi-line message carries
//!   the prefix, so `journalctl -p err` shows a whole panic; otherwise stdout gets the file's
//!   line;
//! - in buffered mode, lines are kept (up to 64 KiB) and written out on the timer and on every
//!   flush, like the file; after the final flush of an exit path, every line is written at once.

use std::io;
use std::sync::Mutex;
use std::time::Instant;

use log::Level;

use super::lock_until;

/// Above this many buffered bytes, the buffer is written out (buffered mode only).
const BUFFER_CAP: usize = 64 * 1024;
/// In the bounded path, at most this much per `write(2)`, so a pipe with room (`POLLOUT`)
/// takes the whole write without blocking.
const PIPE_BUF: usize = 4096;

/// The stdout sink.
pub(crate) struct StdoutSink {
    journal: bool,
    buffered: bool,
    buf: Mutex<Buf>,
}

/// The buffer, and whether the final flush made writes direct.
#[derive(Default)]
struct Buf {
    bytes: Vec<u8>,
    direct: bool,
}

/// The sd-daemon priority of a level (`<3>` ... `<7>`), as used by journald's stdout stream.
pub(crate) fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Whether `$JOURNAL_STREAM` names the file that descriptor `fd` is (1 for stdout, 2 for
/// stderr).
pub(crate) fn is_journal(fd: i32) -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let v = v.to_string_lossy();
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `stat` for the duration of the call.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let (sdev, sino) = (u64::from(st.st_dev), st.st_ino as u64);
    sdev == dev && sino == ino
}

impl StdoutSink {
    /// A sink on fd 1; looks at `$JOURNAL_STREAM` once.
    pub(crate) fn new(buffered: bool) -> StdoutSink {
        StdoutSink {
            journal: is_journal(1),
            buffered,
            buf: Mutex::new(Buf::default()),
        }
    }

    /// Whether stdout is the journal (lines are `<N>message`).
    pub(crate) fn journal(&self) -> bool {
        self.journal
    }

    /// Append the journal form of a record to `out`: `<N>` before every line of `message`.
    pub(crate) fn journal_line(out: &mut Vec<u8>, level: Level, message: &[u8]) {
        let prefix = [b'<', b'0' + priority(level), b'>'];
        for line in message.split(|&b| b == b'\n') {
            out.extend_from_slice(&prefix);
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }

    /// Write one whole record (ending with its newline). With a `deadline`, give up when the
    /// sink is held, or stdout is full, past it.
    pub(crate) fn write(&self, line: &[u8], deadline: Option<Instant>) {
        let Some(mut guard) = lock_until(&self.buf, deadline) else {
            return;
        };
        let Buf { bytes: buf, direct } = &mut *guard;
        if !self.buffered || *direct {
            if !buf.is_empty() {
                let _ = write_fd1(buf, deadline);
                buf.clear();
            }
            let _ = write_fd1(line, deadline);
            return;
        }
        if buf.len() + line.len() > BUFFER_CAP {
            let _ = write_fd1(buf, deadline);
            buf.clear();
        }
        if line.len() > BUFFER_CAP {
            let _ = write_fd1(line, deadline);
        } else {
            buf.extend_from_slice(line);
        }
    }

    /// Write out the buffer (buffered mode); with `last` (the final flush of an exit path),
    /// every later line is written at once, under the same lock.
    pub(crate) fn flush(&self, deadline: Option<Instant>, last: bool) {
        if let Some(mut guard) = lock_until(&self.buf, deadline) {
            let Buf { bytes: buf, direct } = &mut *guard;
            if !buf.is_empty() {
                let _ = write_fd1(buf, deadline);
                buf.clear();
            }
            *direct |= last;
        }
    }
}

/// Write all of `bytes` to fd 1; with a `deadline`, wait for room with `poll(2)` until then.
fn write_fd1(mut bytes: &[u8], deadline: Option<Instant>) -> io::Result<()> {
    while !bytes.is_empty() {
        let chunk = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
                let mut pfd = libc::pollfd {
                    fd: 1,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: `pfd` is one valid `pollfd` for the duration of the call.
                let n = unsafe { libc::poll(&mut pfd, 1, ms) };
                if n == 0 {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                if n < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                bytes.len().min(PIPE_BUF)
            }
            None => bytes.len(),
        };
        // SAFETY: the pointer and length describe the live slice `bytes[..chunk]`.
        let n = unsafe { libc::write(1, bytes.as_ptr().cast(), chunk) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                // A non-blocking fd 1 (inherited so) that is full: wait for room, as a blocking
                // one would; the bounded path polls at the top of the loop instead.
                io::ErrorKind::WouldBlock => {
                    if deadline.is_none() {
                        let mut pfd = libc::pollfd {
                            fd: 1,
                            events: libc::POLLOUT,
                            revents: 0,
                        };
                        // SAFETY: `pfd` is one valid `pollfd` for the duration of the call.
                        unsafe { libc::poll(&mut pfd, 1, -1) };
                    }
                    continue;
                }
                _ => return Err(e),
            }
        }
        bytes = &bytes[usize::try_from(n).unwrap_or(0).min(bytes.len())..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_prefix_on_every_line() {
        let mut out = Vec::new();
        StdoutSink::journal_line(&mut out, Level::Error, b"panicked at a.rs:1:2:\nboom");
        assert_eq!(out, b"<3>panicked at a.rs:1:2:\n<3>boom\n");
        out.clear();
        StdoutSink::journal_line(&mut out, Level::Trace, b"x");
        assert_eq!(out, b"<7>x\n");
        assert_eq!(priority(Level::Warn), 4);
        assert_eq!(priority(Level::Info), 6);
    }
}
