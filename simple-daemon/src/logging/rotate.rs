//! Size-based rotation with the semantics of Python's `RotatingFileHandler`.
//!
//! Promises:
//! - [`needs_rollover`]: a file is rotated BEFORE a record that would make it larger than the
//!   limit, so no file ever exceeds the limit and no record is split across two files; a record
//!   larger than the limit goes alone into a fresh file (the only way a file passes the limit);
//! - [`shift`]: `x.log.N-1` becomes `x.log.N` (the oldest is dropped), ..., `x.log` becomes
//!   `x.log.1`, the newest backup; only renames, so the caller's lock is held for the renames and
//!   nothing else;
//! - a symbolic link at a backup name is never followed, moved or replaced: the renames from and
//!   into it are skipped and reported (once per name, by the caller), so a planted link cannot be used to
//!   clobber anything. `rename(2)` itself never follows a link, so no rename writes through one;
//! - these functions take no lock of their own: the caller ([`super::file`]) holds its sink
//!   lock and the directory `flock` around [`needs_rollover`] on the file's real size and
//!   [`shift`], and re-reads [`highest_backup`] under them, so two processes sharing a file
//!   never rotate it twice nor rename over each other's backups.
//!
//! Why our own rotator and not a crate: `fern` has no size rotation; `file-rotate` with
//! `ContentLimit::Bytes` cuts records in the middle and with `BytesSurpassed` lets files exceed
//! the limit; `flexi_logger` and `log4rs` bring their own logger (not a `fern` output) and name
//! backups differently from Python. The rule fits in a few lines and is tested here.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// Whether a file of `size` bytes must be rotated before a record of `len` bytes is written to
/// it, for a limit of `max` bytes.
pub(crate) fn needs_rollover(size: u64, len: u64, max: u64) -> bool {
    size > 0 && size.saturating_add(len) > max
}

/// The name of backup `i` of `path`: `x.log.1`, `x.log.2`, ...
pub(crate) fn backup_name(path: &Path, i: usize) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// What went wrong during one rotation, for the caller to report (once per kind and name).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    /// Backup names that are symbolic links (left alone; the rename into them skipped).
    pub(crate) symlinks: Vec<PathBuf>,
    /// A rename that failed for another reason than a missing source.
    pub(crate) failed: Option<(PathBuf, io::Error)>,
}

/// The highest backup number of `path` (at most `backups`) that exists now: one directory read,
/// so that a rotation renames the backups that exist, not `backups` names (which may be many).
pub(crate) fn highest_backup(path: &Path, backups: usize) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let mut prefix = name.to_os_string();
    prefix.push(".");
    let prefix = prefix.as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return backups;
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name();
            let digits = n.as_encoded_bytes().strip_prefix(prefix)?;
            std::str::from_utf8(digits).ok()?.parse::<usize>().ok()
        })
        .filter(|&i| (1..=backups).contains(&i))
        .max()
        .unwrap_or(0)
}

/// Shift the backups of `path` by one and move `path` to `path.1`, keeping `backups` files;
/// `top` is the highest backup number that may exist (see [`highest_backup`]), updated.
///
/// Returns whether `path` was moved away (so the caller must open a new file); `false` when
/// `path.1` is a symbolic link or the rename failed: the caller goes on with its current file.
pub(crate) fn shift(path: &Path, backups: usize, top: &mut usize, problems: &mut Problems) -> bool {
    let from = (*top).min(backups.saturating_sub(1));
    *top = (from + 1).min(backups);
    for i in (1..=from).rev() {
        let src = backup_name(path, i);
        let dst = backup_name(path, i + 1);
        let mut linked = false;
        for p in [&src, &dst] {
            if is_symlink(p) {
                linked = true;
                if !problems.symlinks.contains(p) {
                    problems.symlinks.push(p.clone());
                }
            }
        }
        if linked {
            continue;
        }
        match std::fs::rename(&src, &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                problems.failed.get_or_insert((dst, e));
            }
        }
    }
    let first = backup_name(path, 1);
    if is_symlink(&first) {
        if !problems.symlinks.contains(&first) {
            problems.symlinks.push(first);
        }
        return false;
    }
    match std::fs::rename(path, &first) {
        Ok(()) => true,
        // Someone moved the file away already (logrotate without a SIGHUP yet): start afresh.
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => {
            problems.failed.get_or_insert((first, e));
            false
        }
    }
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sd-rotate-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("mkdir");
        d
    }

    #[test]
    fn rollover_rule() {
        // Python's rule, without its empty-file rotation: a file may reach the limit exactly.
        assert!(!needs_rollover(0, 10, 10));
        assert!(
            !needs_rollover(0, 11, 10),
            "an oversized record goes into the (empty) file"
        );
        assert!(!needs_rollover(5, 5, 10));
        assert!(needs_rollover(5, 6, 10));
        assert!(
            needs_rollover(11, 1, 10),
            "after an oversized record the next one rotates"
        );
    }

    #[test]
    fn backups_shift_and_the_oldest_drops() {
        let d = tmp("shift");
        let p = d.join("x.log");
        let mut problems = Problems::default();
        let mut top = highest_backup(&p, 2);
        assert_eq!(top, 0);
        for gen in 0..4 {
            fs::write(&p, format!("gen{gen}")).expect("write");
            assert!(shift(&p, 2, &mut top, &mut problems));
        }
        assert_eq!(top, 2);
        assert_eq!(highest_backup(&p, 2), 2);
        fs::write(backup_name(&p, 7), "x").expect("7");
        fs::write(d.join("x.log.bak"), "x").expect("bak");
        assert_eq!(highest_backup(&p, 9), 7);
        assert_eq!(highest_backup(&p, 5), 2);
        assert!(!p.exists());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "gen3");
        assert_eq!(fs::read_to_string(backup_name(&p, 2)).expect("2"), "gen2");
        assert!(!backup_name(&p, 3).exists());
        assert!(problems.symlinks.is_empty() && problems.failed.is_none());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn symlinks_at_backup_names_are_left_alone() {
        let d = tmp("link");
        let p = d.join("x.log");
        let victim = d.join("victim");
        fs::write(&victim, "precious").expect("victim");
        std::os::unix::fs::symlink(&victim, backup_name(&p, 2)).expect("symlink");
        fs::write(backup_name(&p, 1), "old").expect("1");
        fs::write(&p, "new").expect("x.log");
        let mut problems = Problems::default();
        assert!(shift(&p, 3, &mut highest_backup(&p, 3), &mut problems));
        assert_eq!(problems.symlinks, vec![backup_name(&p, 2)]);
        assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious");
        assert!(fs::symlink_metadata(backup_name(&p, 2))
            .expect("2")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(backup_name(&p, 1)).expect("1"), "new");

        // A link at `.1`: the current file stays where it is.
        fs::remove_file(backup_name(&p, 1)).expect("rm");
        std::os::unix::fs::symlink(&victim, backup_name(&p, 1)).expect("symlink");
        fs::write(&p, "cur").expect("x.log");
        let mut problems = Problems::default();
        assert!(!shift(&p, 3, &mut 3, &mut problems));
        assert_eq!(fs::read_to_string(&p).expect("x.log"), "cur");
        assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious");
        let _ = fs::remove_dir_all(&d);
    }
}
