//! Gzip of rotated log files (feature `compress`, crate `flate2`), on one background thread.
//!
//! Promises:
//! - after a rotation the file sink hands the rotated file's identity (`st_dev`, `st_ino`) to
//!   the thread and returns: no tick, no record and no stop ever waits for a compression;
//! - the live file is never compressed: a job names a file that was renamed away, and it starts
//!   [`SETTLE`] after the rotation, when every writer (this process or another on the same
//!   file) has followed the path to the new file;
//! - `x.log.N` becomes `x.log.N.gz` through a temporary `x.log.N.gz.<inode>.tmp`, written,
//!   `fsync`ed, then renamed into place under the directory lock (the rotation lock of
//!   [`super::file`], so no shift interleaves), and only then is `x.log.N` removed. The
//!   temporary name is not a backup name: a crash mid-compression leaves no half `.gz` that is
//!   counted, and the plain file is still there. Wherever the file has moved meanwhile (a
//!   rotation shifted it to `x.log.N+1`) the `.gz` takes its number; a file dropped by
//!   retention meanwhile is not compressed; a file that grew since it was read (a late writer)
//!   is read again;
//! - the temporary file is `flock`ed while it is written; at start the thread removes every
//!   temporary whose lock it can take (its writer is dead), then, after [`SETTLE`], compresses
//!   the plain backups it finds (what a crash or a stop left);
//! - a stop does not wait for a compression in flight (a stop keeps its bound, and a large file
//!   can take seconds): the process ends, the temporary is swept at the next start, and the
//!   plain `x.log.N`, never removed before its `.gz` was in place, is compressed then.
//!   Nothing is lost, and retention (`max_log_files`) counts `x.log.N` and `x.log.N.gz` as
//!   the one backup N.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::config::SimpleDaemon;

use super::file::{id_of, open_dir, DirLock};
use super::rotate::{backup_name, gz_name};

/// How long after a rotation its file is compressed: longer than any writer of the file takes
/// to follow the path to the new file (a look a second, and 1.5 s of shared writes).
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// How often a file that keeps growing is read again before it is left for the next start.
const ATTEMPTS: usize = 3;

impl SimpleDaemon {
    /// Gzip each rotated log file (`x.log.1` becomes `x.log.1.gz`) on a background thread;
    /// default off. Feature `compress`.
    ///
    /// The live file is never compressed, no tick or stop waits for a compression, and a
    /// crash mid-compression leaves the plain file and no `.gz` (it is compressed at the next
    /// start). [`max_log_files`](Self::max_log_files) counts `x.log.N` and `x.log.N.gz` alike.
    /// A stop does not wait for a compression in flight: its file is compressed at the next
    /// start.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    ///
    /// let config = SimpleDaemon::new("demo").compress(true).config()?;
    /// assert!(config.compress());
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }
}

/// The queue of the compression thread.
pub(crate) struct Compressor {
    jobs: Sender<(u64, u64)>,
}

impl Compressor {
    /// Start the thread for the log file `path`, keeping `backups` backups; `None` when no
    /// thread can be started (then rotated files stay plain).
    pub(crate) fn start(path: &Path, backups: usize) -> Option<Compressor> {
        let (jobs, queue) = mpsc::channel();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("simple-daemon-gzip".into())
            .spawn(move || run(&path, backups, &queue))
            .ok()?;
        Some(Compressor { jobs })
    }

    /// The file `id` was just rotated away: compress it after [`SETTLE`].
    pub(crate) fn rotated(&self, id: (u64, u64)) {
        let _ = self.jobs.send(id);
    }
}

fn run(path: &Path, backups: usize, queue: &Receiver<(u64, u64)>) {
    sweep(path);
    let started = Instant::now();
    let mut pending: Vec<(Instant, (u64, u64))> = Vec::new();
    let mut leftovers_done = false;
    loop {
        let now = Instant::now();
        if !leftovers_done && now >= started + SETTLE {
            leftovers_done = true;
            for i in (1..=backups).rev() {
                if let Ok(m) = fs::symlink_metadata(backup_name(path, i)) {
                    if m.is_file() {
                        compress(path, backups, id_of(&m));
                    }
                }
            }
        }
        pending.sort_by_key(|&(at, _)| at);
        while pending.first().is_some_and(|&(at, _)| at <= Instant::now()) {
            let (_, id) = pending.remove(0);
            compress(path, backups, id);
        }
        let wake = pending
            .first()
            .map(|&(at, _)| at)
            .into_iter()
            .chain((!leftovers_done).then_some(started + SETTLE))
            .min();
        let next = match wake {
            Some(at) => match queue.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(id) => Some(id),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            None => match queue.recv() {
                Ok(id) => Some(id),
                Err(_) => return,
            },
        };
        if let Some(id) = next {
            pending.push((Instant::now() + SETTLE, id));
        }
    }
}

/// Where the file `id` is now among the backups of `path` (its number), if it still is.
fn find(path: &Path, backups: usize, id: (u64, u64)) -> Option<usize> {
    (1..=backups)
        .find(|&i| fs::symlink_metadata(backup_name(path, i)).is_ok_and(|m| m.is_file() && id_of(&m) == id))
}

/// The temporary name for the gzip of the file `id`, first found at backup `n`.
fn tmp_name(path: &Path, n: usize, id: (u64, u64)) -> PathBuf {
    let mut s = gz_name(path, n).into_os_string();
    s.push(format!(".{}.tmp", id.1));
    PathBuf::from(s)
}

/// Compress the backup that is the file `id`, wherever it is now (see the module's promises).
fn compress(path: &Path, backups: usize, id: (u64, u64)) {
    for _ in 0..ATTEMPTS {
        let Some(n) = find(path, backups, id) else {
            return;
        };
        match attempt(path, backups, id, n) {
            Ok(Done::Yes | Done::Gone) | Err(_) => return,
            Ok(Done::Grew) => {}
        }
    }
}

enum Done {
    Yes,
    /// The file was dropped or replaced meanwhile: nothing to do.
    Gone,
    /// The file grew after it was read: read it again.
    Grew,
}

fn attempt(path: &Path, backups: usize, id: (u64, u64), n: usize) -> io::Result<Done> {
    let mut src = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(backup_name(path, n))?;
    if id_of(&src.metadata()?) != id {
        return Ok(Done::Gone);
    }
    let tmp = tmp_name(path, n, id);
    let out = match create_locked(&tmp) {
        Ok(f) => f,
        // Another process compresses this file now.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Done::Gone),
        Err(e) => return Err(e),
    };
    let result = write_gzip(&mut src, &out).and_then(|read| {
        let dir = open_dir(path);
        let _held = DirLock::take(dir.clone(), None);
        let Some(now_at) = find(path, backups, id) else {
            return Ok(Done::Gone);
        };
        if src.metadata()?.len() != read {
            return Ok(Done::Grew);
        }
        let gz = gz_name(path, now_at);
        if fs::symlink_metadata(&gz).is_ok_and(|m| m.file_type().is_symlink()) {
            // A planted link is never replaced (the rotation reports it).
            return Ok(Done::Gone);
        }
        fs::rename(&tmp, &gz)?;
        if let Some(d) = &dir {
            d.sync_all()?;
        }
        fs::remove_file(backup_name(path, now_at))?;
        Ok(Done::Yes)
    });
    if !matches!(result, Ok(Done::Yes)) {
        let _ = fs::remove_file(&tmp);
    }
    drop(out);
    result
}

/// Gzip all of `src` into `out`, `fsync` it; the number of bytes read.
fn write_gzip(src: &mut File, out: &File) -> io::Result<u64> {
    let mut gz = GzEncoder::new(BufWriter::with_capacity(64 * 1024, out), Compression::default());
    let read = io::copy(src, &mut gz)?;
    gz.finish()?.flush()?;
    out.sync_all()?;
    Ok(read)
}

/// Create `tmp` (never over anything, never through a link) and take its `flock`, which tells
/// a sweep in another process that its writer lives; a stale one (its lock free) is replaced.
fn create_locked(tmp: &Path) -> io::Result<File> {
    for _ in 0..2 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW)
            .open(tmp)
        {
            Ok(f) => {
                lock(&f, false)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !remove_if_stale(tmp) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}

/// `flock(LOCK_EX)`, or with `try_only` `LOCK_EX | LOCK_NB` (`WouldBlock` when held).
fn lock(f: &File, try_only: bool) -> io::Result<()> {
    let op = if try_only {
        libc::LOCK_EX | libc::LOCK_NB
    } else {
        libc::LOCK_EX
    };
    loop {
        // SAFETY: `flock` on a file descriptor `f` keeps open.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Remove the temporary `tmp` when no live writer holds its lock; whether it is gone.
fn remove_if_stale(tmp: &Path) -> bool {
    let Ok(f) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(tmp)
    else {
        return fs::symlink_metadata(tmp).is_err();
    };
    if lock(&f, true).is_err() {
        return false;
    }
    // Still the file we locked (not one a new writer just made in its place).
    let same = fs::symlink_metadata(tmp).is_ok_and(|m| f.metadata().is_ok_and(|o| o.ino() == m.ino()));
    same && fs::remove_file(tmp).is_ok()
}

/// Remove the temporaries of `path`'s compressions whose writers are dead.
fn sweep(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let mut prefix = name.to_os_string();
    prefix.push(".");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name();
        let b = n.as_encoded_bytes();
        let ours = b.starts_with(prefix.as_encoded_bytes()) && b.ends_with(b".tmp") && contains(b, b".gz.");
        if ours {
            remove_if_stale(&e.path());
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sd-gzip-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("mkdir");
        d
    }

    fn gunzip(p: &Path) -> String {
        let mut s = String::new();
        flate2::read::GzDecoder::new(File::open(p).expect("open .gz"))
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    }

    #[test]
    fn a_backup_becomes_its_gz_wherever_it_moved() {
        let d = tmp("moved");
        let p = d.join("x.log");
        fs::write(backup_name(&p, 2), "line 1\nline 2\n").expect("2");
        let id = id_of(&fs::metadata(backup_name(&p, 2)).expect("meta"));
        compress(&p, 3, id);
        assert_eq!(gunzip(&gz_name(&p, 2)), "line 1\nline 2\n");
        assert!(
            !backup_name(&p, 2).exists(),
            "the plain file is removed once the .gz is in place"
        );
        let left: Vec<_> = fs::read_dir(&d)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "no temporary left: {left:?}");
        // Dropped by retention (not among the 3 kept): nothing is done.
        fs::write(backup_name(&p, 4), "old\n").expect("4");
        let id = id_of(&fs::metadata(backup_name(&p, 4)).expect("meta"));
        compress(&p, 3, id);
        assert!(!gz_name(&p, 4).exists());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_stale_temporary_is_swept_and_a_live_one_is_not() {
        let d = tmp("sweep");
        let p = d.join("x.log");
        let dead = d.join("x.log.1.gz.11.tmp");
        fs::write(&dead, "half").expect("dead");
        let live = d.join("x.log.2.gz.12.tmp");
        let held = create_locked(&live).expect("live");
        let other = d.join("x.log.notes.tmp");
        fs::write(&other, "not ours").expect("other");
        sweep(&p);
        assert!(!dead.exists(), "nobody holds its lock: swept");
        // The lock is per open file description: a second open is another holder.
        assert!(live.exists(), "its writer holds the lock: kept");
        assert!(other.exists(), "not a compression's temporary");
        drop(held);
        sweep(&p);
        assert!(!live.exists());
        let _ = fs::remove_dir_all(&d);
    }
}
