//! Logging faults on real processes and real file systems (issue 7, item 2): a full disk (a small
//! tmpfs), the log file deleted, moved, its directory removed or made read-only (a read-only
//! bind mount: root ignores mode bits), and symbolic links planted at the log path and at every
//! backup name.
//!
//! The daemon (`fault_daemon`) logs to the file and to stdout (`stream`), and stdout goes to a
//! file outside the faulty one: stdout holds every line logged, so a line the log file could not
//! take is counted, not guessed. Every wait is on an observable event bounded by [`PATIENCE`];
//! nothing asserts on timing. Each test adds a row to `target/fault-summary.md`.

mod fault_common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fault_common::{audit, count, fault_daemon, record, tail, NAME};
use simple_daemon_tests::{kill, read, skip_or_fail, wait_exit, wait_until, TempDir, PATIENCE};

/// A `fault_daemon` ticking every 5 ms, logging to `log_dir` and to stdout (kept in a file).
struct Daemon {
    child: Child,
    log: PathBuf,
    out: PathBuf,
}

impl Daemon {
    fn start(log_dir: &Path, out: &Path, extra: &[(&str, &str)]) -> Daemon {
        let stdout = File::create(out).expect("stdout file");
        let child = fault_daemon(log_dir)
            .env("FD_STREAM", "1")
            .env("FD_INTERVAL_MS", "5")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fault_daemon");
        let d = Daemon {
            child,
            log: log_dir.join(format!("{NAME}.log")),
            out: out.to_path_buf(),
        };
        assert!(
            wait_until(PATIENCE, || read(&d.out).contains("tick 3 end")),
            "the daemon did not tick:\n{}",
            tail(&read(&d.out))
        );
        d
    }

    /// The highest tick number on stdout (every line reaches stdout).
    fn last_tick(&self) -> u64 {
        ticks(&read(&self.out)).into_iter().max().unwrap_or(0)
    }

    /// Wait until `n` more ticks have ended (the daemon goes on ticking).
    fn ticks_go_on(&self, n: u64) {
        let from = self.last_tick();
        assert!(
            wait_until(PATIENCE, || self.last_tick() >= from + n),
            "ticks stopped at {from}:\n{}",
            tail(&read(&self.out))
        );
    }

    fn signal(&self, sig: i32) {
        kill(self.child.id(), sig);
    }

    /// Wait until the log FILE gets a tick newer than any logged so far (it may go to stdout
    /// only while the file is unreachable): the file is written again.
    fn file_resumes(&self) {
        let after = self.last_tick();
        assert!(
            wait_until(PATIENCE, || ticks(&read(&self.log)).iter().any(|&t| t > after)),
            "the file got no tick after {after}:\n{}",
            tail(&read(&self.out))
        );
    }

    /// SIGTERM, then the exit status, stdout and stderr.
    fn stop(mut self) -> (i32, String, String) {
        self.signal(libc::SIGTERM);
        let st = wait_exit(&mut self.child, PATIENCE);
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (st.code().unwrap_or(-1), read(&self.out), err)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failing test must not leave a daemon behind (holding a mount).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tick numbers of the `tick <n> end` lines in `text`.
fn ticks(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| {
            let rest = l.split(" - INFO - tick ").nth(1)?;
            rest.strip_suffix(" end")?.parse().ok()
        })
        .collect()
}

/// The messages of the lines in `text` (after the level), for set comparisons.
fn messages(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| fault_common::parse_line(l, NAME).map(|(_, m)| m.to_owned()))
        .collect()
}

/// The tick lines of `file` are exactly those of `out` from the first one `file` has on.
fn assert_no_gap_from_first(out: &str, file: &str) {
    let on_disk = ticks(file);
    let first = on_disk.first().copied().expect("ticks in the file");
    let from_first: Vec<u64> = ticks(out).into_iter().filter(|&t| t >= first).collect();
    assert_eq!(
        from_first, on_disk,
        "a tick missing in the file after its first one"
    );
}

/// Every line of `text` is whole and in the format; `text` ends with a newline.
fn assert_whole(what: &str, text: &str) {
    let a = audit(text);
    assert!(
        a.bad.is_empty(),
        "{what}: {} lines not whole, first: {:?}",
        a.bad.len(),
        &a.bad[..a.bad.len().min(3)]
    );
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what} ends in a torn line"
    );
}

/// Accounting of one run: the tick lines on stdout (all of them) against those in `files`.
/// Returns (written, found in a file, on stdout only); asserts the files hold no tick line stdout
/// lacks and none twice.
fn account(out: &str, files: &[&Path]) -> (u64, u64, u64) {
    let written: Vec<String> = messages(out)
        .into_iter()
        .filter(|m| m.starts_with("tick "))
        .collect();
    let all: BTreeSet<&String> = written.iter().collect();
    assert_eq!(all.len(), written.len(), "a tick line twice on stdout");
    let mut in_files = BTreeSet::new();
    for f in files {
        let text = read(f);
        assert_whole(&f.display().to_string(), &text);
        for m in messages(&text).into_iter().filter(|m| m.starts_with("tick ")) {
            assert!(all.contains(&m), "{m:?} is in {} but not on stdout", f.display());
            assert!(in_files.insert(m.clone()), "{m:?} twice in the files");
        }
    }
    let w = written.len() as u64;
    let f = in_files.len() as u64;
    (w, f, w - f)
}

/// Run `cmd` (a mount or umount); its error output when it fails.
fn sh(cmd: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .map_err(|e| format!("{}: {e}", cmd[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A mount undone on drop (lazily, so a failing test never leaves it behind).
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        let d = dir.to_str().expect("utf-8 path");
        sh(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0755"),
            "tmpfs",
            d,
        ])?;
        Ok(Mount(dir.to_path_buf()))
    }

    fn read_only_bind(dir: &Path) -> Result<Mount, String> {
        let d = dir.to_str().expect("utf-8 path");
        sh(&["mount", "--bind", d, d])?;
        let m = Mount(dir.to_path_buf());
        sh(&["mount", "-o", "remount,bind,ro", d, d])?;
        Ok(m)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = sh(&["umount", "-l", self.0.to_str().unwrap_or("/nonexistent")]);
    }
}

/// Fill the file system of `dir` to the last byte with a file `filler`.
fn fill(filler: &Path) {
    let mut f = File::create(filler).expect("filler");
    let big = vec![b'x'; 4096];
    while f.write_all(&big).is_ok() {}
    while f.write_all(b"x").is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_is_one_warning_no_half_line_and_logging_resumes_when_space_returns() {
    let dir = TempDir::new("disk-full");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let mount = match Mount::tmpfs(&logs, "256k") {
        Ok(m) => m,
        Err(e) => {
            skip_or_fail(&format!("cannot mount a tmpfs ({e})"));
            return;
        }
    };
    let d = Daemon::start(&logs, &dir.path().join("stdout"), &[]);
    let filler = logs.join("filler");
    fill(&filler);
    // The file system is full: the next lines cannot be written; one warning on stdout.
    assert!(
        wait_until(PATIENCE, || read(&d.out).contains("cannot write the log file")),
        "no warning on stdout:\n{}",
        tail(&read(&d.out))
    );
    d.ticks_go_on(20);
    std::fs::remove_file(&filler).expect("free the space");
    assert!(
        wait_until(PATIENCE, || read(&d.log)
            .contains("the log file takes lines again")),
        "logging did not resume:\n{}",
        tail(&read(&d.log))
    );
    let resumed_at = d.last_tick();
    assert!(wait_until(PATIENCE, || ticks(&read(&d.log))
        .iter()
        .any(|&t| t > resumed_at + 5)));
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    let log = read(&logs.join(format!("{NAME}.log")));
    assert_eq!(count(&out, "panicked"), 0);
    assert_eq!(count(&out, "cannot write the log file"), 1, "{}", tail(&out));
    assert_eq!(
        count(&log, "cannot write the log file"),
        0,
        "the file took the warning"
    );
    assert_whole("stdout", &out);
    let (written, found, out_only) = account(&out, &[&logs.join(format!("{NAME}.log"))]);
    // The recovery line counts the records the file missed: exactly the lines on stdout only
    // (ticks, and any other record; the warning itself is not a record of the file's).
    let missed: u64 = log
        .lines()
        .find_map(|l| {
            l.split("the log file takes lines again; ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("recovery line");
    let not_in_file = messages(&out)
        .iter()
        .filter(|m| !m.contains("cannot write the log file"))
        .count() as u64
        - messages(&log).len() as u64;
    assert_eq!(missed, not_in_file, "the file's own count of missed records");
    assert!(out_only > 0, "the disk was never full for a tick line");
    drop(mount);
    record(
        "disk full (256 KiB tmpfs filled to the last byte, then freed); stream on",
        1,
        written,
        found,
        &format!(
            "1 warning (on stdout, not in the file), no panic, ticks went on, file resumed; the {out_only} tick lines missing from the file were logged while it was full, are on stdout, and are the number the file's recovery line counts as missed; none half-written in the file"
        ),
    );
}

#[test]
fn the_log_file_deleted_while_running_then_sighup() {
    let dir = TempDir::new("log-deleted");
    let d = Daemon::start(dir.path(), &dir.path().join("stdout"), &[]);
    std::fs::remove_file(&d.log).expect("delete the log");
    d.ticks_go_on(5);
    d.signal(libc::SIGHUP);
    assert!(wait_until(PATIENCE, || read(&d.log).contains("had been deleted")));
    d.file_resumes();
    let log = d.log.clone();
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(count(&out, "panicked"), 0);
    assert_eq!(count(&out, "had been deleted"), 1);
    let (written, found, out_only) = account(&out, &[&log]);
    // What is missing went with the deleted file: every tick from the first in the new file on
    // is in it (the deleted file's last records were copied over).
    assert_no_gap_from_first(&out, &read(&log));
    record(
        "log file deleted while running, then SIGHUP; stream on",
        2,
        written,
        found,
        &format!(
            "1 warning (at the sink's next look or at the re-open, whichever came first), ticks went on, the new file gets what the deleted one got since the previous look and the next lines; the {out_only} tick lines missing are those deleted with the file"
        ),
    );
}

#[test]
fn the_log_file_moved_while_running_then_sighup_loses_nothing() {
    let dir = TempDir::new("log-moved");
    let d = Daemon::start(dir.path(), &dir.path().join("stdout"), &[]);
    let moved = dir.path().join("moved.log");
    std::fs::rename(&d.log, &moved).expect("move the log");
    d.ticks_go_on(5);
    d.signal(libc::SIGHUP);
    d.file_resumes();
    let log = d.log.clone();
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(count(&out, " - WARN - "), 0, "{}", tail(&out));
    let (written, found, out_only) = account(&out, &[&moved, &log]);
    assert_eq!(out_only, 0, "lines lost across the move");
    record(
        "log file moved while running, then SIGHUP; stream on",
        2,
        written,
        found,
        "no warning needed; lines before the SIGHUP are in the moved file, the next in a new file at the path",
    );
}

#[test]
fn the_log_directory_removed_while_running_then_sighup() {
    let dir = TempDir::new("dir-removed");
    let logs = dir.path().join("logs");
    let d = Daemon::start(&logs, &dir.path().join("stdout"), &[]);
    std::fs::remove_dir_all(&logs).expect("remove the log directory");
    d.ticks_go_on(5);
    d.signal(libc::SIGHUP);
    // The re-open makes the directory again, with a new file in it.
    assert!(wait_until(PATIENCE, || read(&d.log).contains("had been deleted")));
    d.file_resumes();
    let log = d.log.clone();
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(count(&out, "panicked"), 0);
    assert_eq!(count(&out, " - WARN - "), 1, "{}", tail(&out));
    let (written, found, out_only) = account(&out, &[&log]);
    // What is missing went with the deleted file: every tick from the first in the new file on
    // is in it (the deleted file's last records were copied over).
    assert_no_gap_from_first(&out, &read(&log));
    record(
        "log directory removed while running, then SIGHUP; stream on",
        2,
        written,
        found,
        &format!(
            "1 warning (at the sink's next look or at the re-open), which makes the directory again; the {out_only} tick lines missing are those removed with the directory"
        ),
    );
}

#[test]
fn the_log_directory_made_read_only_while_running() {
    let dir = TempDir::new("dir-ro");
    let logs = dir.path().join("logs");
    let d = Daemon::start(&logs, &dir.path().join("stdout"), &[]);
    let ro = match Mount::read_only_bind(&logs) {
        Ok(m) => m,
        Err(e) => {
            let _ = d.stop();
            skip_or_fail(&format!("cannot make a read-only bind mount ({e})"));
            return;
        }
    };
    // The open file stays writable; a re-open cannot create or open the file: one warning and
    // the old file stays in use.
    d.ticks_go_on(5);
    d.signal(libc::SIGHUP);
    assert!(
        wait_until(PATIENCE, || read(&d.out).contains("cannot re-open the log file")),
        "{}",
        tail(&read(&d.out))
    );
    d.ticks_go_on(5);
    drop(ro);
    d.signal(libc::SIGHUP);
    d.file_resumes();
    let log = d.log.clone();
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(count(&out, " - WARN - "), 1, "{}", tail(&out));
    let (written, found, out_only) = account(&out, &[&log]);
    assert_eq!(out_only, 0, "lines lost while read-only");
    record(
        "log directory made read-only (ro bind mount) while running, SIGHUP, then writable, SIGHUP",
        3,
        written,
        found,
        "1 warning (the re-open fails with EROFS); the open file keeps every line, nothing lost",
    );
}

#[test]
fn symlinks_at_the_log_path_and_every_backup_name_are_never_followed_nor_clobbered() {
    let dir = TempDir::new("links");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let log = logs.join(format!("{NAME}.log"));
    let backup = |i: u32| logs.join(format!("{NAME}.log.{i}"));
    for i in 1..=2 {
        std::os::unix::fs::symlink(&victim, backup(i)).expect("symlink");
    }
    let d = Daemon::start(
        &logs,
        &dir.path().join("stdout"),
        &[("FD_MAX_LOG_SIZE", "4000"), ("FD_MAX_LOG_FILES", "2")],
    );
    // Rotation is due many times over: the links at `.1` and `.2` are reported once each.
    assert!(wait_until(PATIENCE, || read(&d.out)
        .matches("is a symbolic link")
        .count()
        >= 2));
    // A link planted at the log path itself: the re-open refuses it (ELOOP) and keeps the file.
    let moved = logs.join("moved");
    std::fs::rename(&log, &moved).expect("move");
    std::os::unix::fs::symlink(&victim, &log).expect("symlink at the log path");
    d.signal(libc::SIGHUP);
    assert!(wait_until(PATIENCE, || read(&d.out).contains("cannot re-open the log file")));
    d.ticks_go_on(5);
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(read(&victim), "precious\n", "a link was followed");
    for p in [log.clone(), backup(1), backup(2)] {
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        assert!(m.file_type().is_symlink(), "{} was replaced", p.display());
    }
    // Both links are reported by the first rotation, in one warning; never again.
    assert_eq!(out.matches("is a symbolic link").count(), 2, "{}", tail(&out));
    assert_eq!(count(&out, "cannot re-open the log file"), 1);
    let (written, found, out_only) = account(&out, &[&moved]);
    assert_eq!(out_only, 0, "lines lost");
    record(
        "symlinks planted at both backup names and (at run time, then SIGHUP) at the log path",
        3,
        written,
        found,
        "never followed, never replaced (target unchanged); each link reported once (the backup links in one warning, the path link by the re-open's warning); with `.1` a link rotation cannot happen, so the file grows past the size limit; nothing lost",
    );
}

/// The log file deleted under a running daemon, and no SIGHUP: the sink notices it at its next
/// look (once a second; at every record in its first seconds), warns once on every sink, opens a new file and copies into it what
/// the deleted file got since the previous look, so no line logged after the deletion is lost.
#[test]
fn the_log_file_deleted_while_running_is_noticed_within_a_second_without_sighup() {
    let dir = TempDir::new("log-deleted-nohup");
    let d = Daemon::start(dir.path(), &dir.path().join("stdout"), &[]);
    // Past the first seconds, in which the sink looks at the path at every record (see
    // `file.rs`): the once-a-second look is the one under test.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let before = d.last_tick();
    std::fs::remove_file(&d.log).expect("delete the log");
    let removed = std::time::Instant::now();
    let warned = wait_until(PATIENCE, || read(&d.out).contains("had been deleted"));
    let noticed = removed.elapsed();
    assert!(warned, "no warning on stdout:\n{}", tail(&read(&d.out)));
    assert!(d.log.exists(), "no new file after the warning");
    // Let it log on for a while in the new file (400 lines a second).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let log = d.log.clone();
    let (code, out, err) = d.stop();
    assert_eq!(code, 0, "stderr: {err}");
    let file = read(&log);
    eprintln!("the deletion was noticed after {noticed:?}");
    assert!(
        noticed < std::time::Duration::from_millis(2500),
        "the deletion was noticed only after {noticed:?}"
    );
    assert_eq!(count(&out, "had been deleted"), 1, "{}", tail(&out));
    assert_eq!(count(&file, "had been deleted"), 1, "{}", tail(&file));
    assert_eq!(count(&out, "panicked"), 0);
    // The warning says how many records it copied; exactly those (and the record that
    // noticed) come before it in the new file.
    let warning = file
        .lines()
        .position(|l| l.contains("had been deleted"))
        .expect("warning in the file");
    let copied: usize = file
        .lines()
        .nth(warning)
        .and_then(|l| l.split("and the ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count of copied records in the warning:\n{file}"));
    assert_eq!(copied + 1, warning, "records before the warning in the new file");
    let (written, _, out_only) = account(&out, &[&log]);
    // Every tick line logged after the deletion is in the new file: the file's ticks are all of
    // stdout's from its first one on, which was logged before the deletion.
    let on_disk = ticks(&file);
    let first = on_disk.first().copied().expect("ticks in the new file");
    assert!(
        first <= before + 1,
        "tick {first} is the first in the new file, but {before} was logged before the deletion"
    );
    assert_no_gap_from_first(&out, &file);
    let after_first = ticks(&out).iter().filter(|&&t| t >= first).count();
    assert!(written > 1000 / 2, "only {written} tick lines");
    record(
        "log file deleted while running, no SIGHUP; stream on",
        1,
        after_first as u64,
        on_disk.len() as u64,
        &format!(
            "noticed after {} ms, 1 warning on stdout and in the new file; the {copied} records the deleted file got since the sink's previous look were copied into the new one, so every tick logged after the deletion is on disk; the {out_only} tick lines logged before the deletion went with the deleted file (written and found count the ticks, on stdout and in the new file, from the new file's first one on)",
            noticed.as_millis()
        ),
    );
}
