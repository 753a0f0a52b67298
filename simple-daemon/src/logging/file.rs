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
//!   this sink's lock, which is held for the renames and the open of the new file only;
//! - [`FileSink::reopen`] (SIGHUP) writes out the buffer to the old file, then opens the file at
//!   its path again (re-creating a removed directory), so logrotate's move-then-HUP loses no
//!   line; it waits at most half a second for a writer that holds the file, and on any failure
//!   the old file stays in use.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::Level;

use crate::config::Config;
use crate::error::Error;

use super::lock_until;
use super::rotate::{self, Problems};

/// How long [`FileSink::reopen`] waits for a writer that holds the file.
const REOPEN_WAIT: Duration = Duration::from_millis(500);
/// Above this many buffered bytes, the buffer is written out (buffered mode only).
const BUFFER_CAP: usize = 64 * 1024;

/// Pick the log directory by the location chain, creating it when missing.
///
/// # Errors
///
/// [`Error::Path`] for `log_path` when the chosen directory cannot be created or is not one.
pub(crate) fn locate(cfg: &Config) -> Result<PathBuf, Error> {
    if let Some(dir) = &cfg.log_path {
        make_dir(dir, "")?;
        return Ok(dir.clone());
    }
    if let Some(dirs) = std::env::var_os("LOGS_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd passes a colon-separated list when the unit names several directories.
        let first = dirs.to_string_lossy().split(':').next().map(PathBuf::from);
        if let Some(dir) = first.filter(|d| d.is_absolute()) {
            make_dir(&dir, " (from $LOGS_DIRECTORY)")?;
            return Ok(dir);
        }
    }
    let var_log = Path::new("/var/log");
    if writable_dir(var_log) {
        return Ok(var_log.to_path_buf());
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
        Some(state) => {
            let dir = state.join(&cfg.name);
            make_dir(&dir, "")?;
            Ok(dir)
        }
        None => Err(Error::path(
            "log_path",
            "/var/log",
            "is not writable and neither $XDG_STATE_HOME nor $HOME is set; give log_path",
            None,
        )),
    }
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
    state: Mutex<State>,
}

struct State {
    file: File,
    /// Bytes in the file, counting those still in `buf`.
    size: u64,
    /// The highest backup number that may exist.
    top: usize,
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
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let top = rotate::highest_backup(&path, cfg.max_log_files);
        Ok(FileSink {
            path,
            max: cfg.max_log_size,
            backups: cfg.max_log_files,
            buffered: cfg.buffered,
            state: Mutex::new(State {
                file,
                size,
                top,
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

    /// Write one whole record (`line` ends with its newline). With a `deadline`, give up (and
    /// drop the record) when another thread holds the sink past it.
    ///
    /// Returns what the logger must say: a rotation problem (once each), a write failure (once
    /// until writes work again), the recovery. Empty (no allocation) almost always.
    pub(crate) fn write(&self, line: &[u8], deadline: Option<Instant>) -> Vec<Note> {
        let Some(mut st) = lock_until(&self.state, deadline) else {
            return Vec::new();
        };
        let len = line.len() as u64;
        if rotate::needs_rollover(st.size, len, self.max) {
            if let Some(text) = self.rotate(&mut st) {
                st.notes.push(Note {
                    level: Level::Warn,
                    text,
                    to_file: true,
                });
            }
        }
        st.size = st.size.saturating_add(len);
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

    /// Rotate under the lock: write out the buffer to the old file, rename, open the new file.
    fn rotate(&self, st: &mut State) -> Option<String> {
        st.drain();
        let mut problems = Problems::default();
        if rotate::shift(&self.path, self.backups, &mut st.top, &mut problems) {
            match open_nofollow(&self.path) {
                Ok(f) => {
                    st.file = f;
                    st.size = 0;
                }
                Err(e) => {
                    // Go on in the renamed file; try again at the next rotation.
                    st.size = 0;
                    if !st.reported_rename {
                        st.reported_rename = true;
                        return Some(format!(
                            "log rotation: cannot open a new {:?} ({e}); writing on into {:?}",
                            self.path.display().to_string(),
                            rotate::backup_name(&self.path, 1).display().to_string()
                        ));
                    }
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
        (!warning.is_empty()).then(|| warning.join("; "))
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
    /// Returns a warning when the old file had been deleted (its lines since then are gone from
    /// the file system; they reached the other sinks only).
    pub(crate) fn reopen(&self) -> io::Result<Option<String>> {
        // Bounded: the signal thread must stay free for a stop even if a writer is stuck.
        let deadline = Instant::now() + REOPEN_WAIT;
        let mut st = lock_until(&self.state, Some(deadline)).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "another thread holds the log file; it was not re-opened",
            )
        })?;
        st.drain();
        let deleted = st.file.metadata().is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.nlink() == 0
        });
        let f = match open_nofollow(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The directory was removed: make it again, as at start.
                match self.path.parent() {
                    Some(dir) => fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o750)
                        .create(dir)
                        .and_then(|()| open_nofollow(&self.path))?,
                    None => return Err(e),
                }
            }
            r => r?,
        };
        st.size = f.metadata().map(|m| m.len()).unwrap_or(0);
        st.file = f;
        // logrotate may have made or removed backups of its own.
        st.top = rotate::highest_backup(&self.path, self.backups);
        Ok(deleted.then(|| {
            "the log file had been deleted while in use: the lines logged since then went into the deleted file, so only the other sinks have them; a new file is open now".to_owned()
        }))
    }
}

impl State {
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
