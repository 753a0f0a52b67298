//! The log file: where it lives, how it is opened, and how records reach it.
//!
//! Promises:
//! - location: `log_path` when given, else `$LOGS_DIRECTORY` (systemd's `LogsDirectory=`), else
//!   `/var/log` when writable, else `$XDG_STATE_HOME/<name>/` (`~/.local/state/<name>/`); missing
//!   directories are created with mode 0750, new files with mode 0640 (both less the umask);
//! - a symbolic link (or anything but a regular file) where the log file should be is refused at
//!   start with an [`Error`] naming it, and never followed later (`O_NOFOLLOW` on every open);
//! - a location that cannot be used is an [`Error`] whose one sentence names the setting and the
//!   path (exit status 78);
//! - each record reaches the file whole: by default in ONE `write(2)` before the logging call
//!   returns; in buffered mode it is appended to a buffer that is written out (whole records
//!   only) when full, on the 100 ms timer and on every flush; after the final flush of an exit
//!   path ([`FileSink::flush`] with `last`) every record is written at once, so a line logged by
//!   another thread while the process ends is not left in a buffer nobody writes out;
//! - a write that fails (disk full, I/O error) leaves no half record: what a short write put in
//!   the file past the last whole record is cut off again (`ftruncate`), so a record that did not
//!   fit is absent, never torn. The failure becomes ONE warning for the other sinks (the file
//!   cannot take it), the records meanwhile are counted, and when a write works again one line
//!   in the file says how many records it missed;
//! - rotation ([`super::rotate`]) happens before a record that would pass the size limit, under
//!   this sink's lock and the directory lock (below), which are held for the look at the file,
//!   the renames and the open of the new file only;
//! - with [`rotate_every`](crate::SimpleDaemon::rotate_every), a record whose time has reached
//!   the next local hour or midnight boundary ([`rotate::TimeRotation`]) rotates the file first,
//!   under the same locks; per record this costs one integer comparison against the record's
//!   time, which the logger read anyway (no system call). A writer that finds, under the
//!   directory lock, that the path names a file opened after the boundary (another writer
//!   rotated it already) does not rotate it again; an empty file is not rotated;
//! - several processes may write one file (systemd template units `worker@1`, `worker@2`):
//!   every rotation is decided under an advisory `flock(LOCK_EX)` on the log DIRECTORY (a
//!   directory is never rotated, so every writer locks the same inode whatever renames happened;
//!   a lock on the file itself would move with it, and a sidecar `.lock` file could be rotated
//!   or removed by a glob in a logrotate rule), on the file's REAL size (`fstat`), after checking
//!   that the path still names our file (`st_dev`/`st_ino`): when another writer rotated it
//!   already, this one opens the new file instead of rotating twice. A record is written
//!   under that lock, right after the rollover decision on the real size, when it falls in
//!   the last sixteenth before the limit (by this process's count, refreshed at every look) and
//!   a fine look is due (a new millisecond, or a 256th of the limit written since the last
//!   look: never per record at a high rate), and every record for 1.5 s after a sign of
//!   another writer (the real size is larger than this process's count, or the path names
//!   another file while ours still exists). In its first 1.5 s a process takes a fine look at
//!   the file, so writers started together (template units) see each other at once. Otherwise
//!   a record costs no lock and no system call besides its `write(2)` (the default 1 MiB limit:
//!   one `fstat` + `lstat` per 4 KiB near the limit and in the first 1.5 s, plus a `flock` pair
//!   near the limit; one look a second otherwise). What this does not promise: a
//!   writer that has not seen the other yet decides without the lock, so when it is preempted
//!   between its look and its write while the other fills the file, its one record can take the
//!   file past the limit (seen in about one run in seven of two writers racing on a 20 KB
//!   limit, by less than a record; no record is lost or torn); a strict limit across processes
//!   would need the lock for every record. An established writer learns of a newcomer at its
//!   next look (within a second, or a 64th of the limit of its own bytes). Where `flock` does
//!   not work (some network file systems) rotation is safe within one process only;
//! - the file and its path are looked at (`fstat` + `lstat`) once a second, when a record
//!   starts a new second (or a 64th of the limit was written since the last look), not per
//!   record: a file moved away (logrotate without a SIGHUP yet, or another writer's rotation)
//!   is followed by opening the path again; a file DELETED (`st_nlink` 0, or its directory
//!   removed) is noticed within about a second, a new file (and directory) is made, the
//!   records the deleted file got since the previous look are copied into it (read back
//!   through `/proc/self/fd`), and ONE warning on every sink says so: no record logged after
//!   the deletion is lost from disk (without `/proc`, the warning says how many may be);
//!   something that is not a regular file at the path is never followed (one warning);
//! - [`FileSink::reopen`] (SIGHUP) writes out the buffer to the old file, then opens the file at
//!   its path again (re-creating a removed directory), so logrotate's move-then-HUP loses no
//!   line; it waits at most half a second for a writer that holds the file, and on any failure
//!   the old file stays in use.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use log::Level;

use chrono::Local;

use crate::config::Config;
use crate::error::Error;

use super::compress::Compressor;
use super::format::Now;
use super::lock_until;
use super::rotate::{self, Problems, TimeRotation};

/// How long [`FileSink::reopen`] waits for a writer that holds the file.
const REOPEN_WAIT: Duration = Duration::from_millis(500);
/// Above this many buffered bytes, the buffer is written out (buffered mode only).
const BUFFER_CAP: usize = 64 * 1024;
/// How long a process writes every record under the directory lock after the last sign of
/// another writer, and how long after start it looks at the file more often (milliseconds).
const SHARED_MS: i64 = 1500;
/// At most this much of a deleted file is copied into the new one.
const RECOVER_MAX: u64 = 8 * 1024 * 1024;

/// Where the location chain put the log directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The `log_path` setting.
    LogPath,
    /// `$LOGS_DIRECTORY` (systemd's `LogsDirectory=`).
    LogsDirectory,
    /// `/var/log`, writable.
    VarLog,
    /// `$XDG_STATE_HOME/<name>/` or `~/.local/state/<name>/`.
    State,
}

impl Origin {
    /// The words after the path in a message: `" (from $LOGS_DIRECTORY)"`, or nothing.
    fn suffix(self) -> &'static str {
        match self {
            Origin::LogsDirectory => " (from $LOGS_DIRECTORY)",
            Origin::State => {
                " (the default from $XDG_STATE_HOME or $HOME, as log_path is unset and /var/log is not writable)"
            }
            _ => "",
        }
    }

    /// Why this directory, for `--help`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Origin::LogPath => "the log_path setting",
            Origin::LogsDirectory => "$LOGS_DIRECTORY, systemd's LogsDirectory=",
            Origin::VarLog => "/var/log is writable",
            Origin::State => {
                "/var/log is not writable, so the state directory ($XDG_STATE_HOME, else ~/.local/state)"
            }
        }
    }
}

/// The log directory the location chain picks in this environment, and why, creating nothing.
///
/// # Errors
///
/// [`Error::Path`] for `log_path` when `/var/log` is not writable and neither `$XDG_STATE_HOME`
/// nor `$HOME` is set.
pub(crate) fn choose(cfg: &Config) -> Result<(PathBuf, Origin), Error> {
    if let Some(dir) = &cfg.log_path {
        return Ok((dir.clone(), Origin::LogPath));
    }
    if let Some(dirs) = std::env::var_os("LOGS_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd passes a colon-separated list when the unit names several directories.
        // Split the raw bytes: a directory name need not be UTF-8.
        let first = dirs
            .as_bytes()
            .split(|&b| b == b':')
            .next()
            .map(|d| PathBuf::from(std::ffi::OsStr::from_bytes(d)));
        if let Some(dir) = first.filter(|d| d.is_absolute()) {
            return Ok((dir, Origin::LogsDirectory));
        }
    }
    let var_log = Path::new("/var/log");
    if writable_dir(var_log) {
        return Ok((var_log.to_path_buf(), Origin::VarLog));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local/state"))
        });
    match state {
        Some(state) => Ok((state.join(&cfg.name), Origin::State)),
        None => Err(Error::path(
            "log_path",
            "/var/log",
            "is not writable and neither $XDG_STATE_HOME nor $HOME is set; give log_path",
            None,
        )),
    }
}

/// Pick the log directory by the location chain ([`choose`]), creating it when missing.
///
/// # Errors
///
/// [`Error::Path`] for `log_path` when the chosen directory cannot be created or is not one.
pub(crate) fn locate(cfg: &Config) -> Result<PathBuf, Error> {
    let (dir, origin) = choose(cfg)?;
    if origin != Origin::VarLog {
        make_dir(&dir, origin.suffix())?;
    }
    Ok(dir)
}

fn writable_dir(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let ok = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0;
    ok && dir.is_dir()
}

fn make_dir(dir: &Path, from: &str) -> Result<(), Error> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(Error::path(
                "log_path",
                dir,
                format!("{from} is not a directory").trim_start(),
                None,
            ))
        }
        Err(_) => {}
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| {
            Error::path(
                "log_path",
                dir,
                format!("{from} cannot be created").trim_start(),
                Some(e),
            )
        })
}

/// Open `path` for appending without following a symbolic link, creating it with mode 0640.
fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .and_then(|f| {
            // O_NONBLOCK only guards the open against a FIFO planted at the path; a regular
            // file ignores it, anything else is refused.
            let m = f.metadata()?;
            if !m.is_file() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
            }
            Ok(f)
        })
}

/// Open the log file at start: refuse a symbolic link or a non-regular file with an [`Error`].
fn open_at_start(dir: &Path, path: &Path) -> Result<File, Error> {
    let existed = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(symlink_error(path)),
        Ok(m) if !m.is_file() => return Err(Error::path("log_name", path, "is not a regular file", None)),
        Ok(_) => true,
        Err(_) => false,
    };
    open_nofollow(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            symlink_error(path)
        } else if existed {
            Error::path("log_name", path, "cannot be opened for writing", Some(e))
        } else if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM | libc::EROFS)) {
            Error::path("log_path", dir, "is not writable", Some(e))
        } else {
            // Not a permission problem (e.g. ENOENT from a pseudo file system such as /proc):
            // say what failed, not a guess at why.
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            Error::path(
                "log_path",
                dir,
                format!("cannot take a new log file {name:?}"),
                Some(e),
            )
        }
    })
}

fn symlink_error(path: &Path) -> Error {
    Error::path(
        "log_name",
        path,
        "is a symbolic link, which is never followed; remove it or choose another log_path",
        None,
    )
}

/// The file sink.
pub(crate) struct FileSink {
    path: PathBuf,
    max: u64,
    backups: usize,
    buffered: bool,
    /// The gzip thread's queue (feature `compress`), when `compress` is on.
    compressor: Option<Compressor>,
    state: Mutex<State>,
}

struct State {
    file: File,
    /// `(st_dev, st_ino)` of `file`, to tell whether the path still names it.
    id: (u64, u64),
    /// Bytes in the file, counting those still in `buf` (the real size when `shared`).
    size: u64,
    /// The highest backup number that may exist.
    top: usize,
    /// The rotation by time, when `rotate_every` is set.
    timed: Option<TimeRotation>,
    /// The earliest time (ms since the epoch) the file in use may have records from: its
    /// modification time when it was not empty at start, else when it was opened.
    since: i64,
    /// The log directory, whose `flock` is the cross-process rotation lock; `None` when it
    /// cannot be opened (then rotation is safe within this process only).
    dir: Option<Arc<File>>,
    /// Another process writes this file too (it appended, or rotated the file): every record
    /// is written under the directory lock, after a look at the real size and the path, until
    /// the second `alone_after`, which each new sign of the other writer pushes back.
    shared: bool,
    alone_after: i64,
    /// Until this second (one to two seconds after start), the file is looked at four times
    /// as often, so that writers started together (template units) see each other early.
    watch_until: i64,
    /// When the file and its path were last looked at ([`FileSink::look`]): the second, and
    /// the bytes and records written since.
    looked_at: i64,
    since_look: u64,
    records_since_look: u64,
    /// The file's length at that look: the deleted file's records past it are recovered.
    len_at_look: u64,
    /// A path that cannot be followed was reported (once, until following works again).
    reported_path: bool,
    buf: Vec<u8>,
    /// Names already reported as symbolic links (each reported once).
    reported_links: Vec<PathBuf>,
    reported_rename: bool,
    /// Set by the final flush of an exit path: write every record at once from now on.
    direct: bool,
    /// A write failed: records are counted in `missed` until a write works again.
    failing: bool,
    /// Records that could not be written since the failure.
    missed: u64,
    /// What the logger must say about this sink, taken by the next [`FileSink::write`].
    notes: Vec<Note>,
}

/// Something the file sink asks the logger to say.
pub(crate) struct Note {
    pub(crate) level: Level,
    pub(crate) text: String,
    /// Whether the file itself may get it (not when the file is what failed).
    pub(crate) to_file: bool,
}

/// `(st_dev, st_ino)` of an open file or a path's metadata.
pub(super) fn id_of(m: &fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

/// What the log file's path names now, compared with the file in use.
enum AtPath {
    /// Our file (or it cannot be told: the path is left alone).
    Ours,
    /// Nothing: the file was moved away or deleted.
    Gone,
    /// Another regular file (another writer rotated, or logrotate made a new one).
    Other,
    /// Something that is never followed (a symbolic link, a directory, ...).
    NotAFile,
}

fn at_path(path: &Path, id: (u64, u64)) -> AtPath {
    match fs::symlink_metadata(path) {
        Ok(m) if id_of(&m) == id => AtPath::Ours,
        Ok(m) if m.is_file() => AtPath::Other,
        Ok(_) => AtPath::NotAFile,
        Err(e) if e.kind() == io::ErrorKind::NotFound => AtPath::Gone,
        Err(_) => AtPath::Ours,
    }
}

/// Open the directory of `path` for the rotation lock.
pub(super) fn open_dir(path: &Path) -> Option<Arc<File>> {
    let dir = path.parent()?;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .ok()
        .map(Arc::new)
}

/// Open `path` for appending (see [`open_nofollow`]); when its directory was removed, make it
/// again with mode 0750, as at start.
fn open_again(path: &Path) -> io::Result<File> {
    match open_nofollow(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => match path.parent() {
            Some(dir) => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .and_then(|()| open_nofollow(path)),
            None => Err(e),
        },
        r => r,
    }
}

/// `t` in milliseconds since the epoch (0 before it).
fn millis(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The records a deleted file got after byte `from`, read back through `/proc/self/fd` (at
/// most [`RECOVER_MAX`] bytes, cut after the last whole record); `None` when that cannot be read.
fn recover_tail(file: &File, from: u64) -> Option<Vec<u8>> {
    let mut f = File::open(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut tail = Vec::new();
    f.take(RECOVER_MAX).read_to_end(&mut tail).ok()?;
    let whole = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    tail.truncate(whole);
    Some(tail)
}

/// The cross-process rotation lock: `flock(LOCK_EX)` on the log directory, released on drop.
/// A directory is never rotated, so every writer of the file locks the same inode, whatever
/// renames happened. Without a directory fd, or where `flock` fails (some network file
/// systems), it holds nothing.
pub(super) struct DirLock(Option<Arc<File>>);

impl DirLock {
    /// Take the lock; with a `deadline`, try until then only (and hold nothing after).
    pub(super) fn take(dir: Option<Arc<File>>, deadline: Option<Instant>) -> DirLock {
        let Some(dir) = dir else {
            return DirLock(None);
        };
        let op = if deadline.is_some() {
            libc::LOCK_EX | libc::LOCK_NB
        } else {
            libc::LOCK_EX
        };
        loop {
            // SAFETY: `flock` on a file descriptor this `Arc` keeps open.
            if unsafe { libc::flock(dir.as_raw_fd(), op) } == 0 {
                return DirLock(Some(dir));
            }
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EWOULDBLOCK) if deadline.is_some_and(|d| Instant::now() < d) => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                _ => return DirLock(None),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            // SAFETY: as in `take`; unlocking a lock this open file description holds.
            unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

impl FileSink {
    /// Locate and open the log file for `cfg`.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] naming the directory or file that cannot be used.
    pub(crate) fn open(cfg: &Config) -> Result<FileSink, Error> {
        let dir = locate(cfg)?;
        let path = dir.join(&cfg.log_name);
        let file = open_at_start(&dir, &path)?;
        let meta = file.metadata().ok();
        let size = meta.as_ref().map_or(0, fs::Metadata::len);
        let id = meta.as_ref().map_or((0, 0), id_of);
        let top = rotate::highest_backup(&path, cfg.max_log_files);
        let dir = open_dir(&path);
        let now = Now::get().epoch_millis();
        let since = match meta.as_ref().and_then(|m| m.modified().ok()) {
            Some(t) if size > 0 => millis(t).min(now),
            _ => now,
        };
        let compressor = if cfg.compress {
            Compressor::start(&path, cfg.max_log_files)
        } else {
            None
        };
        Ok(FileSink {
            path,
            max: cfg.max_log_size,
            backups: cfg.max_log_files,
            buffered: cfg.buffered,
            compressor,
            state: Mutex::new(State {
                file,
                id,
                size,
                top,
                timed: cfg
                    .rotate_every
                    .map(|every| TimeRotation::new(every, since, &Local)),
                since,
                dir,
                shared: false,
                alone_after: i64::MIN,
                watch_until: now.saturating_add(SHARED_MS),
                looked_at: i64::MIN,
                since_look: 0,
                records_since_look: 0,
                len_at_look: size,
                reported_path: false,
                buf: Vec::new(),
                reported_links: Vec::new(),
                reported_rename: false,
                direct: false,
                failing: false,
                missed: 0,
                notes: Vec::new(),
            }),
        })
    }

    /// The log file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Write one whole record (`line` ends with its newline); `ms` is the record's time
    /// (milliseconds since the epoch), which paces the look at the file and its path. With a
    /// `deadline`, give up (and drop the record) when another thread holds the sink past it.
    ///
    /// Returns what the logger must say: a rotation problem (once each), a write failure (once
    /// until writes work again), the recovery, a deleted file. Empty (no allocation) almost
    /// always.
    pub(crate) fn write(&self, line: &[u8], deadline: Option<Instant>, ms: i64) -> Vec<Note> {
        let Some(mut guard) = lock_until(&self.state, deadline) else {
            return Vec::new();
        };
        let st = &mut *guard;
        let len = line.len() as u64;
        if st.shared && ms >= st.alone_after {
            st.shared = false;
        }
        // A fine look (in the first moments after start, and near the limit) is due at a new
        // millisecond or after a 256th of the limit written since the last look: never per
        // record, whatever the rate (one per 4 KiB at most for the default 1 MiB).
        let fine = ms != st.looked_at || st.since_look >= self.max / 256;
        let near = |st: &State| {
            !self.buffered && st.size > 0 && st.size.saturating_add(len) > self.max - self.max / 16
        };
        if !(st.shared || (fine && near(st))) {
            // The cheap test on every record: a new second, or a 64th of the limit written since
            // the last look. In the first moments after start (when a writer started beside this
            // one may not have been seen yet): a fine look.
            let due = if ms < st.watch_until {
                fine
            } else {
                ms.div_euclid(1000) != st.looked_at.div_euclid(1000) || st.since_look >= self.max / 64
            };
            if due {
                self.look(st, ms);
            }
        }
        if st.timed.is_some_and(|t| ms >= t.next()) {
            self.rotate_by_time(st, ms, deadline);
        }
        // With another writer, at a fine look in the last sixteenth before the limit, or when
        // our count says the limit is reached: decide under the directory lock, on the real
        // size of the file the path names now (another process may have rotated it already),
        // and write the record before the lock is released, so no other writer's record slips
        // in between.
        if st.shared || (fine && near(st)) || rotate::needs_rollover(st.size, len, self.max) {
            st.drain();
            let _held = DirLock::take(st.dir.clone(), deadline);
            self.look(st, ms);
            if rotate::needs_rollover(st.size, len, self.max) {
                self.rotate(st);
            }
            if st.shared || !self.buffered || st.direct {
                st.count(len);
                st.put(line);
                return std::mem::take(&mut st.notes);
            }
        }
        st.count(len);
        if !self.buffered || st.direct {
            st.drain();
            st.put(line);
        } else {
            if st.buf.len() + line.len() > BUFFER_CAP {
                st.drain();
            }
            if line.len() > BUFFER_CAP {
                st.put(line);
            } else {
                st.buf.extend_from_slice(line);
            }
        }
        std::mem::take(&mut st.notes)
    }

    /// Look at the file in use and at its path (one `fstat`, one `lstat`): follow the path when
    /// it names another file now (another writer rotated, logrotate moved it, it was deleted),
    /// and take the file's real size, which tells whether another process appends to it.
    fn look(&self, st: &mut State, ms: i64) {
        let (nlink, real) = match st.file.metadata() {
            Ok(m) => (m.nlink(), m.len()),
            Err(_) => (1, st.size.saturating_sub(st.buf.len() as u64)),
        };
        match at_path(&self.path, st.id) {
            AtPath::Ours if nlink > 0 => {
                let expected = st.size.saturating_sub(st.buf.len() as u64);
                if real > expected {
                    st.another_writer(ms);
                }
                // Also right after a truncation by someone else (logrotate's copytruncate).
                st.size = real + st.buf.len() as u64;
                st.len_at_look = real;
            }
            AtPath::NotAFile if nlink > 0 => {
                if !st.reported_path {
                    st.reported_path = true;
                    st.notes.push(Note {
                        level: Level::Warn,
                        text: format!(
                            "the log file's path {:?} now names something that is not a regular file; it is not followed, and lines go on into the file already open",
                            self.path.display().to_string()
                        ),
                        to_file: true,
                    });
                }
            }
            at => {
                if nlink > 0 && matches!(at, AtPath::Other) {
                    // Our file was moved and another made in its place: another writer's
                    // rotation (or logrotate's, which costs a second or two of locked writes).
                    st.another_writer(ms);
                }
                self.follow_noting(st, nlink == 0);
            }
        }
        st.looked_at = ms;
        st.since_look = 0;
        st.records_since_look = 0;
    }

    /// A record at `ms` reached the time boundary: rotate, under the directory lock, unless
    /// the file is empty or began after the boundary (another writer rotated it already, as
    /// the look under the lock shows); the next boundary is the first after `ms`.
    fn rotate_by_time(&self, st: &mut State, ms: i64, deadline: Option<Instant>) {
        let Some(boundary) = st.timed.map(|t| t.next()) else {
            return;
        };
        st.drain();
        {
            let _held = DirLock::take(st.dir.clone(), deadline);
            self.look(st, ms);
            if st.size > 0 && st.since < boundary {
                self.rotate(st);
            }
        }
        if let Some(t) = &mut st.timed {
            t.passed(ms, &Local);
        }
    }

    /// [`Self::follow`], its warning or its failure (once) noted for the logger.
    fn follow_noting(&self, st: &mut State, deleted: bool) {
        match self.follow(st, deleted) {
            Ok(Some(text)) => st.notes.push(Note {
                level: Level::Warn,
                text,
                to_file: true,
            }),
            Ok(None) => {}
            Err(e) => {
                if !st.reported_path {
                    st.reported_path = true;
                    st.notes.push(Note {
                            level: Level::Warn,
                            text: format!(
                                "cannot open the log file {:?} again ({e}); lines go on into the file already open",
                                self.path.display().to_string()
                            ),
                            to_file: true,
                        });
                }
            }
        }
    }

    /// Go on in the file the path names (making it, and its directory, when missing). When the
    /// old file was `deleted`, the records it got since the last look are copied into the new
    /// one first, and the warning to log is returned.
    ///
    /// # Errors
    ///
    /// The `open(2)` error; the old file stays in use.
    fn follow(&self, st: &mut State, deleted: bool) -> io::Result<Option<String>> {
        st.drain();
        let records = st.records_since_look;
        let tail = if deleted {
            recover_tail(&st.file, st.len_at_look)
        } else {
            None
        };
        let f = open_again(&self.path)?;
        self.switch_to(st, f);
        if !deleted {
            return Ok(None);
        }
        let path = self.path.display().to_string();
        Ok(Some(match tail {
            Some(tail) => {
                let n = tail.iter().filter(|&&b| b == b'\n').count();
                st.size += tail.len() as u64;
                st.put(&tail);
                st.len_at_look = st.size;
                format!("the log file {path:?} had been deleted while in use; a new file is open now, and the {n} records the deleted file got since the last look at it, a second ago at most (so every record logged since the deletion), were copied into it")
            }
            None => format!("the log file {path:?} had been deleted while in use; a new file is open now; up to {records} records logged in the second before this was noticed went into the deleted file, so only the other sinks have them"),
        }))
    }

    /// Use `f`, just opened at the path, from now on.
    fn switch_to(&self, st: &mut State, f: File) {
        let meta = f.metadata().ok();
        st.size = meta.as_ref().map_or(0, fs::Metadata::len);
        st.id = meta.as_ref().map_or((0, 0), id_of);
        st.len_at_look = st.size;
        st.file = f;
        st.since = Now::get().epoch_millis();
        st.reported_path = false;
        // The directory may be new (it was removed), and logrotate or another writer may have
        // made or removed backups.
        st.dir = open_dir(&self.path);
        st.top = rotate::highest_backup(&self.path, self.backups);
    }

    /// Rotate, under the sink's lock and the directory lock: write out the buffer to the old
    /// file, rename, open the new file.
    fn rotate(&self, st: &mut State) {
        st.drain();
        // Another process may have made or shifted backups since our last count.
        st.top = rotate::highest_backup(&self.path, self.backups);
        let mut problems = Problems::default();
        if rotate::shift(&self.path, self.backups, &mut st.top, &mut problems) {
            match open_nofollow(&self.path) {
                Ok(f) => {
                    let top = st.top;
                    let rotated = st.id;
                    self.switch_to(st, f);
                    st.top = top;
                    if let Some(c) = &self.compressor {
                        c.rotated(rotated);
                    }
                }
                Err(e) => {
                    // Go on in the renamed file; try again at the next rotation.
                    st.size = 0;
                    if !st.reported_rename {
                        st.reported_rename = true;
                        st.notes.push(Note {
                            level: Level::Warn,
                            text: format!(
                                "log rotation: cannot open a new {:?} ({e}); writing on into {:?}",
                                self.path.display().to_string(),
                                rotate::backup_name(&self.path, 1).display().to_string()
                            ),
                            to_file: true,
                        });
                    }
                    return;
                }
            }
        }
        let mut warning = Vec::new();
        for link in problems.symlinks {
            if !st.reported_links.contains(&link) {
                warning.push(format!(
                    "log rotation: {:?} is a symbolic link; it is left alone and not followed",
                    link.display().to_string()
                ));
                st.reported_links.push(link);
            }
        }
        if let Some((to, e)) = problems.failed {
            if !st.reported_rename {
                st.reported_rename = true;
                warning.push(format!(
                    "log rotation: cannot rename into {:?}: {e}",
                    to.display().to_string()
                ));
            }
        }
        if !warning.is_empty() {
            st.notes.push(Note {
                level: Level::Warn,
                text: warning.join("; "),
                to_file: true,
            });
        }
    }

    /// Write out the buffer (buffered mode); with a `deadline`, skip the sink when another
    /// thread holds it past the deadline. With `last` (the final flush of an exit path), every
    /// later record is written at once, under the same lock, so none can be left in the buffer.
    pub(crate) fn flush(&self, deadline: Option<Instant>, last: bool) {
        if let Some(mut st) = lock_until(&self.state, deadline) {
            st.drain();
            st.direct |= last;
        }
    }

    /// Open the file at its path again (SIGHUP), after writing out the buffer to the old one.
    ///
    /// # Errors
    ///
    /// The `open(2)` error (a symbolic link at the path is `ELOOP`), or `WouldBlock` when a
    /// writer holds the file for more than half a second; the old file stays in use.
    ///
    /// Returns a warning when the old file had been deleted (what it got since the last look
    /// is copied into the new file, as when a write notices the deletion).
    pub(crate) fn reopen(&self) -> io::Result<Option<String>> {
        // Bounded: the signal thread must stay free for a stop even if a writer is stuck.
        let deadline = Instant::now() + REOPEN_WAIT;
        let mut guard = lock_until(&self.state, Some(deadline)).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "another thread holds the log file; it was not re-opened",
            )
        })?;
        let st = &mut *guard;
        st.drain();
        let deleted = st.file.metadata().is_ok_and(|m| m.nlink() == 0);
        self.follow(st, deleted)
    }
}

impl State {
    /// Another process writes the file: lock every record for the next second or two.
    fn another_writer(&mut self, ms: i64) {
        self.shared = true;
        self.alone_after = ms.saturating_add(SHARED_MS);
    }

    /// Count a record of `len` bytes about to be written.
    fn count(&mut self, len: u64) {
        self.size = self.size.saturating_add(len);
        self.since_look = self.since_look.saturating_add(len);
        self.records_since_look += 1;
    }

    /// Write `bytes` (whole records) to the file: one `write(2)` for a regular file. On a
    /// failure, cut off any part of a record a short write left (so no torn line stays), count
    /// the records not written, and note one warning until a write works again.
    fn put(&mut self, bytes: &[u8]) {
        let mut done = 0;
        let failed = loop {
            match self.file.write(&bytes[done..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    done += n;
                    if done == bytes.len() {
                        break None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        let Some(e) = failed else {
            if self.failing {
                self.failing = false;
                let missed = std::mem::take(&mut self.missed);
                self.notes.push(Note {
                    level: Level::Info,
                    text: format!(
                        "the log file takes lines again; {missed} records logged meanwhile could not be written to it"
                    ),
                    to_file: true,
                });
            }
            return;
        };
        // Keep the whole records written; cut the torn one (O_APPEND: it ends the file).
        let keep = bytes[..done]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let mut cut_failed = None;
        if done > keep {
            let torn = (done - keep) as u64;
            let cut = self
                .file
                .metadata()
                .and_then(|m| self.file.set_len(m.len().saturating_sub(torn)));
            if let Err(c) = cut {
                cut_failed = Some(c);
            }
        }
        let unwritten = &bytes[keep..];
        self.size = self.size.saturating_sub(unwritten.len() as u64);
        self.missed += unwritten.iter().filter(|&&b| b == b'\n').count() as u64;
        if !self.failing {
            self.failing = true;
            let mut text = format!(
                "cannot write the log file ({e}); its lines go to the other sinks only until it takes them again"
            );
            if let Some(c) = cut_failed {
                text.push_str(&format!(" (and a partly written line could not be cut off: {c})"));
            }
            self.notes.push(Note {
                level: Level::Warn,
                text,
                to_file: false,
            });
        }
    }

    fn drain(&mut self) {
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            self.put(&buf);
            self.buf = buf;
            self.buf.clear();
        }
    }
}
