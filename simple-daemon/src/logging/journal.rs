//! The journal sink (`journal`): journald's native protocol on `/run/systemd/journal/socket`.
//!
//! Promises:
//! - each record is ONE journal entry with `PRIORITY` (ERROR 3, WARN 4, INFO 6, DEBUG/TRACE 7),
//!   `SYSLOG_IDENTIFIER` (the daemon's name), `SYSLOG_PID`, `MESSAGE`, `CODE_FILE` and
//!   `CODE_LINE` (where the record was made, when known), `TARGET`, then the record's own fields,
//!   so `journalctl -o json` shows them and `journalctl -p`, `-t NAME` and `_PID=` find them;
//! - a field's name is made valid as journald wants it ([`field_name`]): upper-cased
//!   (`user` → `USER`), every character but `A-Z`, `0-9` and `_` made `_`, at most 64 bytes, and
//!   a name that journald would refuse or that would shadow one of the fixed fields above (it
//!   does not start with an ASCII letter, it is empty, it is `MESSAGE`, ...) gets the prefix
//!   `ESCAPED_`,
//!   so the fixed fields always hold their own values and nothing a record carries is dropped
//!   (JSON lines prefix `_` instead, [`super::format`]: there any key is valid and only a repeat
//!   needs a prefix, while a journal name beginning with `_` is one journald keeps for itself);
//! - a value with a newline (a multi-line message, a panic) is sent in the protocol's binary
//!   form (`NAME\n`, its length as 64-bit little endian, the bytes, `\n`), whole;
//! - an entry too large for one datagram (the kernel refuses it with `EMSGSIZE`: about 200 KiB
//!   with the default socket buffer) is written to a memfd, sealed (`F_SEAL_SHRINK`,
//!   `F_SEAL_GROW`, `F_SEAL_WRITE`, `F_SEAL_SEAL`, so journald may map it knowing it cannot
//!   change), and its descriptor sent with `SCM_RIGHTS` in an empty datagram, as
//!   `sd_journal_send` does; nothing is cut;
//! - the socket is a [`Peer`]: missing at start is a configuration [`Error`] for `journal`
//!   (exit 78, as for `syslog`); lost, full, back, drained, and the bounded path's deadline are
//!   as [`super::dgram`] promises, so a journald that is restarted or stops reading costs the
//!   ticks at most one bounded wait and one warning on the other sinks, never a stop.
//!
//! Why our own sender and not systemd-journal-logger: that crate is a whole `log::Log` (it would
//! take the `log` slot the other sinks need, or be called from ours with its own formatting),
//! and it sends with a plain blocking `sendmsg`: a journald that stops reading blocks the tick,
//! and the signal thread's bounded path (an aggressive stop, the panic hook) could not bound its
//! wait. Its encoding (sanitised upper-case names, the binary form, the sealed memfd) is the
//! protocol's, which this module follows too; its sanitising rule (`ESCAPED_`) is the one kept
//! here, so entries look the same to a user moving over.

use std::ffi::CStr;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Instant;

use log::Level;

use crate::error::Error;

use super::dgram::{Event, Peer, Wait};
use super::format::VecWriter;
use super::record::{Entry, Value};

/// journald's native socket.
pub(crate) const DEFAULT_JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
/// The fields every entry carries; a record's own field of one of these names is escaped.
const FIXED: [&str; 7] = [
    "MESSAGE",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "SYSLOG_PID",
    "CODE_FILE",
    "CODE_LINE",
    "TARGET",
];
/// The prefix of a field name journald would refuse, or that shadows a fixed field.
const ESCAPED: &str = "ESCAPED_";
/// journald's longest field name.
const NAME_MAX: usize = 64;

/// The journal sink.
pub(crate) struct JournalSink {
    peer: Peer,
    /// `SYSLOG_IDENTIFIER=<name>\nSYSLOG_PID=<pid>\n`, the same in every entry.
    head: Vec<u8>,
}

/// The journald priority of a level.
fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl JournalSink {
    /// Connect to `path`; `name` and `pid` are `SYSLOG_IDENTIFIER` and `SYSLOG_PID`.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] for `journal` naming the socket when it cannot be reached.
    pub(crate) fn connect(path: &Path, name: &str, pid: u32) -> Result<JournalSink, Error> {
        let peer =
            Peer::connect(path).map_err(|e| Error::path("journal", path, "cannot be reached", Some(e)))?;
        let mut head = Vec::with_capacity(64);
        put(&mut head, "SYSLOG_IDENTIFIER", name.as_bytes());
        put(&mut head, "SYSLOG_PID", pid.to_string().as_bytes());
        Ok(JournalSink { peer, head })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        self.peer.path()
    }

    /// Append the entry for the record `e`, whose message is `text`, to `out`: the fixed fields,
    /// then the record's own ones.
    pub(crate) fn entry(&self, out: &mut Vec<u8>, e: &Entry<'_>, text: &[u8]) {
        out.extend_from_slice(b"PRIORITY=");
        out.push(b'0' + priority(e.level));
        out.push(b'\n');
        out.extend_from_slice(&self.head);
        put(out, "MESSAGE", text);
        if let Some(file) = e.file {
            put(out, "CODE_FILE", file.as_bytes());
        }
        if let Some(line) = e.line {
            put(out, "CODE_LINE", line.to_string().as_bytes());
        }
        put(out, "TARGET", e.target.as_bytes());
        for f in e.fields {
            field_name(out, &f.key);
            match &f.value {
                Value::Str(s) => value_of(out, s.as_bytes()),
                v => {
                    out.push(b'=');
                    let mut w = VecWriter(out);
                    let _ = match v {
                        Value::I64(n) => write!(w, "{n}"),
                        Value::U64(n) => write!(w, "{n}"),
                        Value::F64(n) => write!(w, "{n}"),
                        Value::Bool(b) => write!(w, "{b}"),
                        Value::Str(_) => Ok(()),
                    };
                    out.push(b'\n');
                }
            }
        }
    }

    /// Datagrams dropped in the episode still going on (for the exit's last word), taken.
    pub(crate) fn take_dropped(&self, deadline: Option<Instant>) -> u64 {
        self.peer.take_dropped(deadline)
    }

    /// Send one entry: one datagram, or a sealed memfd when it is too large for one. With a
    /// `deadline`, never block past it.
    pub(crate) fn send(&self, entry: &[u8], deadline: Option<Instant>) -> Option<Event> {
        self.peer.send(deadline, |s, wait| send_entry(s, entry, wait))
    }
}

/// Append `name` as journald takes it: upper case, `A-Z0-9_` only, at most 64 bytes, with the
/// prefix `ESCAPED_` when it would be refused (empty, or not starting with an ASCII letter) or
/// would shadow a fixed field.
///
/// ```text
/// user -> USER   http.status -> HTTP_STATUS   _x -> ESCAPED__X   message -> ESCAPED_MESSAGE
/// ```
pub(crate) fn field_name(out: &mut Vec<u8>, name: &str) {
    let start = out.len();
    // Every byte but ASCII letters and digits becomes `_`, so a name that starts with anything
    // else would start with `_` (journald's own fields) or a digit: both refused.
    let refused = name.bytes().next().is_none_or(|c| !c.is_ascii_alphabetic());
    let shadows = FIXED.iter().any(|f| f.eq_ignore_ascii_case(name));
    if refused || shadows {
        out.extend_from_slice(ESCAPED.as_bytes());
    }
    for c in name.bytes() {
        if out.len() - start >= NAME_MAX {
            break;
        }
        out.push(match c {
            b'a'..=b'z' => c.to_ascii_uppercase(),
            b'A'..=b'Z' | b'0'..=b'9' | b'_' => c,
            _ => b'_',
        });
    }
    if out.len() == start + ESCAPED.len() && name.is_empty() {
        out.extend_from_slice(b"FIELD");
    }
}

/// Append a fixed field (its name already valid).
fn put(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    value_of(out, value);
}

/// After a field's name: `=value\n`, or the binary form when `value` has a newline.
fn value_of(out: &mut Vec<u8>, value: &[u8]) {
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value);
    } else {
        out.push(b'=');
        out.extend_from_slice(value);
    }
    out.push(b'\n');
}

/// Send `entry` as one datagram; when the kernel says it is too large, through a sealed memfd.
fn send_entry(s: &UnixDatagram, entry: &[u8], wait: Wait) -> io::Result<()> {
    loop {
        // SAFETY: the pointer and length describe the live slice `entry`.
        let n = unsafe { libc::send(s.as_raw_fd(), entry.as_ptr().cast(), entry.len(), wait.flags()) };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EMSGSIZE) {
            break;
        }
        wait.again(e)?;
    }
    let memfd = sealed_memfd(entry)?;
    send_fd(s, &memfd, wait)
}

/// A memfd holding `bytes`, sealed against every change.
fn sealed_memfd(bytes: &[u8]) -> io::Result<File> {
    const NAME: &CStr = c"simple-daemon-journal";
    // SAFETY: `NAME` is a NUL-terminated string; the flags are valid for memfd_create.
    let fd = unsafe { libc::memfd_create(NAME.as_ptr(), libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on a descriptor `file` owns, with an integer argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// Send an empty datagram carrying `file`'s descriptor (`SCM_RIGHTS`).
fn send_fd(s: &UnixDatagram, file: &File, wait: Wait) -> io::Result<()> {
    let fd: libc::c_int = file.as_raw_fd();
    // SAFETY: CMSG_SPACE is a pure computation on a size.
    let space = unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) } as usize;
    // u64 words keep the control buffer aligned for `cmsghdr`.
    let mut control = vec![0u64; space.div_ceil(8)];
    loop {
        // SAFETY: an all-zero `msghdr` is a valid value of this plain C struct.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg` points at a control buffer of `space` bytes, enough for one header
        // with one descriptor (CMSG_SPACE), so CMSG_FIRSTHDR is non-null and CMSG_DATA is
        // inside the buffer.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), fd);
        }
        // SAFETY: `msg` is a valid msghdr with no iovec and a valid control buffer.
        let n = unsafe { libc::sendmsg(s.as_raw_fd(), &msg, wait.flags()) };
        if n >= 0 {
            return Ok(());
        }
        wait.again(io::Error::last_os_error())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::record::Field;

    fn name(n: &str) -> String {
        let mut out = Vec::new();
        field_name(&mut out, n);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn field_names_are_made_valid() {
        assert_eq!(name("user"), "USER");
        assert_eq!(name("http.status-code"), "HTTP_STATUS_CODE");
        assert_eq!(name("Ünï"), "ESCAPED___N__");
        assert_eq!(name("-x"), "ESCAPED__X");
        assert_eq!(name("2fa"), "ESCAPED_2FA");
        assert_eq!(name("_PID"), "ESCAPED__PID");
        assert_eq!(name(""), "ESCAPED_FIELD");
        assert_eq!(name("message"), "ESCAPED_MESSAGE");
        assert_eq!(name("Target"), "ESCAPED_TARGET");
        assert_eq!(name(&"x".repeat(100)).len(), NAME_MAX);
        assert_eq!(name(&"9".repeat(100)).len(), NAME_MAX);
    }

    /// Parse an entry back as journald does: `NAME=value\n` or `NAME\n<u64 le><bytes>\n`.
    fn parse(mut e: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        while !e.is_empty() {
            let nl = e.iter().position(|&b| b == b'\n').expect("newline");
            let line = &e[..nl];
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                out.push((
                    String::from_utf8_lossy(&line[..eq]).into_owned(),
                    line[eq + 1..].to_vec(),
                ));
                e = &e[nl + 1..];
            } else {
                let len = u64::from_le_bytes(e[nl + 1..nl + 9].try_into().expect("8 bytes")) as usize;
                let value = e[nl + 9..nl + 9 + len].to_vec();
                assert_eq!(e[nl + 9 + len], b'\n');
                out.push((String::from_utf8_lossy(line).into_owned(), value));
                e = &e[nl + 10 + len..];
            }
        }
        out
    }

    fn recv_fd(rx: &UnixDatagram) -> (usize, Option<File>) {
        let mut buf = vec![0u8; 512 * 1024];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 8];
        // SAFETY: zeroed msghdr, then pointed at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control) as _;
        // SAFETY: `msg` describes live buffers.
        let n = unsafe { libc::recvmsg(rx.as_raw_fd(), &mut msg, 0) };
        assert!(n >= 0, "{}", io::Error::last_os_error());
        // SAFETY: the kernel filled `msg`; CMSG_FIRSTHDR checks the length.
        let fd = unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (!c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS).then(|| {
                File::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>()))
            })
        };
        (n as usize, fd)
    }

    #[test]
    fn entries_are_sent_whole_as_datagrams_or_sealed_memfds() {
        let dir = std::env::temp_dir().join(format!("sd-journal-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("socket");
        let rx = UnixDatagram::bind(&path).expect("bind");
        let sink = JournalSink::connect(&path, "MyDaemon", 4242).expect("connect");

        let fields = [
            Field::new("user", Value::I64(42)),
            Field::new("message", Value::Str("not the message".into())),
            Field::new("path", Value::Str("/x\ny".into())),
            Field::new("ok", Value::Bool(true)),
        ];
        let record = Entry {
            level: Level::Warn,
            target: "my_app::db",
            file: Some("src/db.rs"),
            line: Some(7),
            args: format_args!("first\nsecond"),
            fields: &fields,
        };
        let mut e = Vec::new();
        sink.entry(&mut e, &record, b"first\nsecond");
        assert!(sink.send(&e, None).is_none());
        let (n, fd) = recv_fd(&rx);
        assert!(fd.is_none());
        assert_eq!(n, e.len());
        let fields = parse(&e);
        let want: Vec<(String, Vec<u8>)> = [
            ("PRIORITY", &b"4"[..]),
            ("SYSLOG_IDENTIFIER", b"MyDaemon"),
            ("SYSLOG_PID", b"4242"),
            ("MESSAGE", b"first\nsecond"),
            ("CODE_FILE", b"src/db.rs"),
            ("CODE_LINE", b"7"),
            ("TARGET", b"my_app::db"),
            ("USER", b"42"),
            ("ESCAPED_MESSAGE", b"not the message"),
            ("PATH", b"/x\ny"),
            ("OK", b"true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
        assert_eq!(fields, want);

        // 300 KB: too large for a datagram, so a sealed memfd.
        let big = "x".repeat(300 * 1024);
        let mut e = Vec::new();
        sink.entry(
            &mut e,
            &Entry::plain(Level::Info, "t", format_args!("")),
            big.as_bytes(),
        );
        assert!(sink.send(&e, None).is_none());
        let (n, fd) = recv_fd(&rx);
        assert_eq!(n, 0, "the datagram carrying the memfd is empty");
        let mut fd = fd.expect("a descriptor came with it");
        // SAFETY: fcntl on a descriptor this test owns.
        let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
        let all = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        assert_eq!(seals & all, all, "seals {seals:#x}");
        let mut got = Vec::new();
        io::Seek::seek(&mut fd, io::SeekFrom::Start(0)).expect("seek");
        io::Read::read_to_end(&mut fd, &mut got).expect("read the memfd");
        assert!(
            got == e,
            "the memfd holds {} bytes, not the {}-byte entry",
            got.len(),
            e.len()
        );
        assert!(fd.write_all(b"x").is_err(), "a sealed memfd cannot be written");

        assert!(JournalSink::connect(&dir.join("none"), "x", 1)
            .err()
            .is_some_and(|e| e.to_string().starts_with("journal \"")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
