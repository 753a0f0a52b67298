//! The log file on real processes: rotation under 4 threads (every line counted), SIGHUP after a
//! move (logrotate), symbolic-link refusal, unusable locations (exit 78), the journal prefix on
//! stdout, panics, and buffered mode on every exit path; rotation by time under libfaketime (a
//! DST hour, midnight, clock steps) and gzipped backups (`compress`: every line found after
//! decompressing, retention, `kill -9` mid-compression).
//!
//! Every wait is on an observable event (a line in a file, the child's exit), bounded by
//! [`PATIENCE`]; nothing is timed.

mod fault_common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use simple_daemon_tests::{faketime, kill, read, skip_or_fail, wait_exit, wait_until, TempDir, PATIENCE};

const THREADS: usize = 4;
const PAYLOAD: &str = "the quick brown fox jumps over the lazy dog";

fn daemon(envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_log_daemon"));
    c.envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

/// The file and its backups `x.1`, `x.2`, ... (or `x.1.gz`, ...) that exist, newest first.
fn files(log: &Path) -> Vec<PathBuf> {
    let mut v = vec![log.to_path_buf()];
    for i in 1.. {
        let found: Vec<PathBuf> = [
            format!("{}.{i}", log.display()),
            format!("{}.{i}.gz", log.display()),
        ]
        .into_iter()
        .map(PathBuf::from)
        .filter(|b| b.exists())
        .collect();
        if found.is_empty() {
            break;
        }
        v.extend(found);
    }
    v
}

/// The text of a log file, decompressed when it is a `.gz`.
fn text(p: &Path) -> String {
    if p.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .unwrap_or_else(|e| panic!("{} is not a whole gzip file: {e}", p.display()));
        s
    } else {
        read(p)
    }
}

fn any_has(paths: &[PathBuf], needle: &str) -> bool {
    paths.iter().any(|p| text(p).lines().any(|l| l.contains(needle)))
}

/// Whether `line` is a whole line of the seed's format for `logd`:
/// `2018-11-27 13:47:59,971 - logd - INFO - message`.
fn whole_line(line: &str) -> bool {
    let b = line.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    b.len() > 23
        && digits.iter().all(|&i| b[i].is_ascii_digit())
        && &b[4..5] == b"-"
        && &b[19..20] == b","
        && ["INFO", "DEBUG", "WARN", "ERROR"]
            .iter()
            .any(|lvl| line[23..].starts_with(&format!(" - logd - {lvl} - ")))
}

/// Read every file: count the writers' lines `(t, i)`, assert each line whole.
fn count_lines(paths: &[PathBuf]) -> HashMap<(usize, u64), u32> {
    let mut seen = HashMap::new();
    for p in paths {
        let text = text(p);
        assert!(
            !text.starts_with('\n'),
            "{} starts with a lone newline",
            p.display()
        );
        for line in text.lines() {
            assert!(
                whole_line(line),
                "torn or foreign line in {}: {line:?}",
                p.display()
            );
            let Some(body) = line.split(" - INFO - ").nth(1) else {
                continue;
            };
            let Some(body) = body.strip_suffix(PAYLOAD) else {
                continue;
            };
            let mut it = body.split_whitespace();
            let t = it.next().and_then(|t| t.strip_prefix('t')?.parse().ok());
            let i = it.next().and_then(|i| i.strip_prefix('i')?.parse().ok());
            match (t, i) {
                (Some(t), Some(i)) => *seen.entry((t, i)).or_insert(0) += 1,
                _ => panic!("torn line in {}: {line:?}", p.display()),
            }
        }
    }
    seen
}

/// The writers' lines are in order across all files, for every thread: reading the files oldest
/// first (`paths` is newest first, as [`files`] gives them), each thread's `i` only grows.
fn assert_in_order(paths: &[PathBuf]) {
    let mut last: HashMap<usize, (u64, PathBuf)> = HashMap::new();
    for p in paths.iter().rev() {
        for line in text(p).lines() {
            let Some(body) = line.split(" - INFO - ").nth(1) else {
                continue;
            };
            let Some(body) = body.strip_suffix(PAYLOAD) else {
                continue;
            };
            let mut it = body.split_whitespace();
            let t = it.next().and_then(|t| t.strip_prefix('t')?.parse().ok());
            let i = it.next().and_then(|i| i.strip_prefix('i')?.parse().ok());
            let (Some(t), Some(i)) = (t, i) else { continue };
            if let Some((prev, at)) = last.get(&t) {
                assert!(
                    i > *prev,
                    "thread {t}: line i{i} in {} comes after i{prev} in {}",
                    p.display(),
                    at.display()
                );
            }
            last.insert(t, (i, p.clone()));
        }
    }
}

fn assert_all_once(seen: &HashMap<(usize, u64), u32>, lines: u64) {
    let written = THREADS as u64 * lines;
    let dup = seen.values().filter(|&&n| n != 1).count();
    assert_eq!(dup, 0, "{dup} lines found more than once");
    for t in 0..THREADS {
        for i in 0..lines {
            assert!(seen.contains_key(&(t, i)), "line t{t} i{i} is missing");
        }
    }
    assert_eq!(
        seen.len() as u64,
        written,
        "written {written}, found {}",
        seen.len()
    );
}

fn rotation_counts_every_line(tag: &str, extra: &[(&str, &str)]) {
    const LINES: u64 = 15_000;
    const MAX: u64 = 64 * 1024;
    let dir = TempDir::new(tag);
    let log = dir.path().join("logd.log");
    let lines = LINES.to_string();
    let threads = THREADS.to_string();
    let max = MAX.to_string();
    let mut envs = vec![
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_THREADS", threads.as_str()),
        ("SD_LINES", lines.as_str()),
        ("SD_MAX_SIZE", max.as_str()),
        ("SD_MAX_FILES", "10000"),
    ];
    envs.extend_from_slice(extra);
    let mut child = daemon(&envs).spawn().expect("spawn log_daemon");
    // `ALL DONE` is the writers' last line: in the current file, or just rotated into `.1`.
    let newest = [log.clone(), PathBuf::from(format!("{}.1", log.display()))];
    assert!(
        wait_until(PATIENCE, || any_has(&newest, "ALL DONE")),
        "the writers did not finish"
    );
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));

    let all = files(&log);
    assert!(all.len() > 10, "expected many rotated files, got {}", all.len());
    for p in &all {
        let len = std::fs::metadata(p).expect("stat").len();
        assert!(len <= MAX, "{} is {len} bytes, over the {MAX} limit", p.display());
    }
    // The backups are in order: every thread's lines grow from the oldest file to the newest.
    let seen = count_lines(&all);
    assert_all_once(&seen, LINES);
    assert_in_order(&all);
    assert!(
        read(&all[all.len() - 1]).contains("PID: "),
        "the first file rotated out last"
    );
    assert!(read(&log).contains("Graceful Interrupt..."));
}

#[test]
fn rotation_with_4_threads_loses_and_tears_nothing() {
    rotation_counts_every_line("rot", &[]);
}

#[test]
fn rotation_with_4_threads_buffered_loses_and_tears_nothing() {
    rotation_counts_every_line("rotbuf", &[("SD_BUFFERED", "1")]);
}

#[test]
fn buffered_mode_flushes_on_an_aggressive_stop() {
    rotation_counts_every_line("aggbuf", &[("SD_BUFFERED", "1"), ("SD_MODE", "aggressive")]);
}

#[test]
fn sighup_after_a_move_loses_nothing() {
    const LINES: u64 = 20_000;
    let dir = TempDir::new("hup");
    let log = dir.path().join("logd.log");
    let moved = dir.path().join("logd.log-moved");
    let lines = LINES.to_string();
    let threads = THREADS.to_string();
    let mut child = daemon(&[
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_THREADS", threads.as_str()),
        ("SD_LINES", lines.as_str()),
        ("SD_PACE", "50"),
        ("SD_MAX_SIZE", "1000000000"),
    ])
    .spawn()
    .expect("spawn log_daemon");
    // Move the file while the writers are busy (logrotate's `create` method), then SIGHUP.
    assert!(wait_until(PATIENCE, || read(&log).contains(" t0 i")));
    std::fs::rename(&log, &moved).expect("move the log");
    kill(child.id(), libc::SIGHUP);
    // The sink may follow the path by itself before the SIGHUP (it looks at the path once a
    // second, and at every record in its first second); either way the re-open
    // creates the file anew.
    assert!(wait_until(PATIENCE, || log.exists()), "no new file after SIGHUP");
    let both = [moved.clone(), log.clone()];
    assert!(wait_until(PATIENCE, || any_has(&both, "ALL DONE")));
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));
    assert!(read(&moved).contains("PID: "));
    assert!(any_has(&both, "Received 1 signal."));
    assert!(read(&log).contains("Graceful Interrupt..."));
    let seen = count_lines(&both);
    assert_all_once(&seen, LINES);
}

#[test]
fn a_symlink_at_the_log_file_is_refused_with_exit_78() {
    let dir = TempDir::new("link");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let log = dir.path().join("logd.log");
    std::os::unix::fs::symlink(&victim, &log).expect("symlink");
    let mut child = daemon(&[("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path"))])
        .spawn()
        .expect("spawn");
    let st = wait_exit(&mut child, PATIENCE);
    let err = stderr_of(&mut child);
    assert_eq!(st.code(), Some(78), "stderr: {err}");
    let want = format!("log_name {:?} is a symbolic link", log.display().to_string());
    assert!(err.contains(&want), "stderr {err:?} lacks {want:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err:?}");
    assert_eq!(read(&victim), "precious\n");
}

#[test]
fn a_symlink_at_a_backup_name_is_left_alone_with_one_warning() {
    let dir = TempDir::new("blink");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let log = dir.path().join("logd.log");
    std::os::unix::fs::symlink(&victim, dir.path().join("logd.log.2")).expect("symlink");
    // stdout gets every line (the files lose the old ones: `.1` is replaced at every rotation
    // while `.2` is a link), so the warning is counted there.
    let (child, mut out) = spawn_with_stdout(
        &[
            ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
            ("SD_STREAM", "1"),
            ("SD_THREADS", "1"),
            ("SD_LINES", "3000"),
            ("SD_MAX_SIZE", "20000"),
            ("SD_MAX_FILES", "3"),
        ],
        false,
    );
    let mut child = simple_daemon_tests::Reap(child);
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let names = [log.clone(), dir.path().join("logd.log.1")];
    assert!(wait_until(PATIENCE, || any_has(&names, "ALL DONE")));
    kill(child.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let text = reader.join().expect("stdout reader");
    assert_eq!(read(&victim), "precious\n", "the link was followed");
    let link = std::fs::symlink_metadata(dir.path().join("logd.log.2")).expect("lstat");
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert!(text.contains("ALL DONE 3000"), "stdout is not the whole log");
    let warnings = text
        .lines()
        .filter(|l| l.contains(" - WARN - ") && l.contains("is a symbolic link"))
        .count();
    assert_eq!(
        warnings,
        1,
        "one warning, never repeated:\n{}",
        fault_common::tail(&text)
    );
}

#[test]
fn an_unwritable_log_path_exits_78_naming_it() {
    // Tests run as root, which ignores mode bits: a path under a regular file cannot be created.
    let dir = TempDir::new("unwritable");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").expect("file");
    let bad = file.join("logs");
    let mut child = daemon(&[("SD_LOG_DIR", bad.to_str().expect("utf-8 path"))])
        .spawn()
        .expect("spawn");
    let st = wait_exit(&mut child, PATIENCE);
    let err = stderr_of(&mut child);
    assert_eq!(st.code(), Some(78), "stderr: {err}");
    let want = format!("log_path {:?} cannot be created: ", bad.display().to_string());
    assert!(err.contains(&want), "stderr {err:?} lacks {want:?}");
    assert!(err.contains("(os error 20)"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err:?}");

    // A directory where the log file should be.
    std::fs::create_dir(dir.path().join("logd.log")).expect("mkdir");
    let mut child = daemon(&[("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path"))])
        .spawn()
        .expect("spawn");
    let st = wait_exit(&mut child, PATIENCE);
    let err = stderr_of(&mut child);
    assert_eq!(st.code(), Some(78), "stderr: {err}");
    assert!(err.contains("is not a regular file"), "{err}");
}

#[test]
fn new_files_are_0640_and_new_directories_0750() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("modes");
    let sub = dir.path().join("a/b");
    let mut cmd = daemon(&[("SD_LOG_DIR", sub.to_str().expect("utf-8 path"))]);
    // SAFETY: `umask` is async-signal-safe and touches nothing but the child's own mask.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::umask(0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn");
    let log = sub.join("logd.log");
    assert!(wait_until(PATIENCE, || read(&log).contains("Mode: PASSIVE")));
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, PATIENCE).code(), Some(0));
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    // With no umask, the modes are exactly those asked for.
    assert_eq!(mode(&log), 0o640, "file mode {:o}", mode(&log));
    assert_eq!(mode(&sub), 0o750, "dir mode {:o}", mode(&sub));
    let a = dir.path().join("a");
    assert_eq!(mode(&a), 0o750, "dir mode {:o}", mode(&a));
}

/// Spawn with stdout on a pipe; with `journal`, `$JOURNAL_STREAM` names that pipe.
fn spawn_with_stdout(envs: &[(&str, &str)], journal: bool) -> (Child, std::io::PipeReader) {
    use std::os::unix::fs::MetadataExt;
    let (reader, writer) = std::io::pipe().expect("pipe");
    let writer = std::fs::File::from(std::os::fd::OwnedFd::from(writer));
    let meta = writer.metadata().expect("fstat");
    let mut cmd = daemon(envs);
    cmd.env_remove("JOURNAL_STREAM");
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    let child = cmd.stdout(Stdio::from(writer)).spawn().expect("spawn");
    (child, reader)
}

/// Run a streaming daemon logging into `dir` until its log file has a line containing `until`,
/// stop it with SIGTERM (exit 0), and return its pid, everything it wrote on stdout, and the file.
fn stream_until(dir: &TempDir, extra: &[(&str, &str)], journal: bool, until: &str) -> (u32, String, String) {
    let mut envs = vec![
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_STREAM", "1"),
    ];
    envs.extend_from_slice(extra);
    let (mut child, mut out) = spawn_with_stdout(&envs, journal);
    let log = dir.path().join("logd.log");
    assert!(
        wait_until(PATIENCE, || read(&log).contains(until)),
        "{}",
        read(&log)
    );
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, PATIENCE).code(), Some(0));
    let mut text = String::new();
    out.read_to_string(&mut text).expect("read stdout");
    (child.id(), text, read(&log))
}

#[test]
fn stdout_under_journald_carries_priority_prefixes() {
    let dir = TempDir::new("journal");
    let (pid, text, _) = stream_until(&dir, &[("SD_TICK_LOG", "1")], true, "error 2");
    for want in [
        format!("<6>PID: {pid}"),
        "<7>Set signal handler: 15".into(),
        "<6>Mode: PASSIVE".into(),
        "<6>tick 1".into(),
        "<7>debug 1".into(),
        "<4>warn 1".into(),
        "<3>error 1".into(),
        "<6>Graceful Interrupt...".into(),
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "no line {want:?} on stdout:\n{text}"
        );
    }
    assert!(text.lines().all(|l| l.starts_with('<')), "{text}");
}

#[test]
fn stdout_elsewhere_gets_the_file_lines() {
    let dir = TempDir::new("stdout");
    let (_, text, file) = stream_until(&dir, &[], false, "Mode: PASSIVE");
    assert_eq!(text, file, "stdout and the file differ");
    assert!(text.lines().all(whole_line), "{text}");
}

#[test]
fn a_panic_is_logged_with_continuation_lines_unprefixed_then_exit_101() {
    for (buffered, how, first) in [
        ("", "1", "boom in tick 1"),
        ("1", "1", "boom in tick 1"),
        // The hook runs while the record that panicked is half formatted on this thread.
        ("", "display", "boom in Display"),
    ] {
        let dir = TempDir::new("panic");
        let (mut child, mut out) = spawn_with_stdout(
            &[
                ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
                ("SD_STREAM", "1"),
                ("SD_PANIC", how),
                ("SD_BUFFERED", buffered),
            ],
            true,
        );
        assert_eq!(wait_exit(&mut child, PATIENCE).code(), Some(101));
        let log = read(&dir.path().join("logd.log"));
        let lines: Vec<&str> = log.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(" - logd - ERROR - ") && l.contains("panicked at"))
            .unwrap_or_else(|| panic!("no panic record in:\n{log}"));
        assert_eq!(lines.get(at + 1).copied(), Some(first), "{log}");
        assert_eq!(
            lines.get(at + 2).copied(),
            Some("second line of the panic"),
            "{log}"
        );
        let mut text = String::new();
        out.read_to_string(&mut text).expect("read stdout");
        assert!(text.lines().any(|l| l == "<3>second line of the panic"), "{text}");
    }
}

/// Two processes on one log file (systemd template units `worker@1`, `worker@2` do this): each
/// rotation is decided on the file's real size under the directory lock, and a process whose
/// file another one rotated follows the path instead of rotating twice.
#[test]
fn two_processes_on_one_file_rotate_without_losing_a_line() {
    const LINES: u64 = 3000;
    const MAX: u64 = 20_000;
    let dir = TempDir::new("two");
    let log = dir.path().join("logd.log");
    let lines = LINES.to_string();
    let max = MAX.to_string();
    let spawn = |first: &str| {
        daemon(&[
            ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
            ("SD_THREADS", "1"),
            ("SD_FIRST_THREAD", first),
            ("SD_LINES", lines.as_str()),
            ("SD_MAX_SIZE", max.as_str()),
            ("SD_MAX_FILES", "50"),
        ])
        .spawn()
        .expect("spawn log_daemon")
    };
    let mut a = simple_daemon_tests::Reap(spawn("0"));
    let mut b = simple_daemon_tests::Reap(spawn("1"));
    let done = || {
        files(&log)
            .iter()
            .map(|p| read(p).matches("ALL DONE").count())
            .sum::<usize>()
            >= 2
    };
    let finished = wait_until(PATIENCE, done);
    for c in [&mut a.0, &mut b.0] {
        kill(c.id(), libc::SIGTERM);
        let st = wait_exit(c, PATIENCE);
        assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(c));
    }
    let all = files(&log);
    let seen = count_lines(&all);
    let found: Vec<usize> = (0..2)
        .map(|t| seen.keys().filter(|(tt, _)| *tt == t).count())
        .collect();
    eprintln!(
        "two processes, {LINES} lines each, max_log_size {MAX}: found {found:?} distinct lines, {} files",
        all.len()
    );
    assert!(finished, "the writers did not both finish: found {found:?}");
    let dup = seen.values().filter(|&&n| n != 1).count();
    assert_eq!(dup, 0, "{dup} lines found more than once");
    assert_eq!(found, vec![LINES as usize; 2], "written {LINES} each");
    // A record is decided on the real size and, near the limit or once the other writer was
    // seen, written under the directory lock; a writer that has not seen the other yet (and
    // was preempted between its look and its write) can still add its one record to a full
    // file, so the bound is the limit plus a record, not the limit (see `file.rs`).
    let record = 100;
    for p in &all {
        let len = std::fs::metadata(p).expect("stat").len();
        assert!(
            len <= MAX + record,
            "{} is {len} bytes, over the {MAX} limit by more than a record",
            p.display()
        );
    }
    assert_in_order(&all);
    assert!(all.len() > 20, "expected about 28 files, got {}", all.len());
    let biggest = all
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .max()
        .unwrap_or(0);
    fault_common::record(
        "two processes on one log file, max_log_size 20000, max_log_files 50",
        2,
        2 * LINES,
        seen.len() as u64,
        &format!(
            "every line once, in order per writer, no torn line; {} files, the largest {biggest} bytes (limit {MAX})",
            all.len()
        ),
    );
}

#[test]
fn a_non_utf8_logs_directory_is_used_byte_for_byte() {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let dir = TempDir::new("logsdir");
    let mut raw = dir.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/caf\xe9");
    let want = PathBuf::from(OsString::from_vec(raw.clone()));
    // systemd's list form: the first directory is the log's.
    raw.extend_from_slice(b":/nonexistent/second");
    let mut cmd = daemon(&[("SD_STREAM", "1"), ("SD_TICK_LOG", "1")]);
    cmd.env_remove("SD_LOG_DIR")
        .env("LOGS_DIRECTORY", OsString::from_vec(raw))
        .stdout(Stdio::piped());
    let mut child = simple_daemon_tests::Reap(cmd.spawn().expect("spawn"));
    let log = want.join("logd.log");
    assert!(
        wait_until(PATIENCE, || read(&log).contains("Mode: PASSIVE")),
        "no log at {:?}; the directory has {:?}",
        log,
        std::fs::read_dir(dir.path())
            .map(|d| d
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect::<Vec<_>>())
            .unwrap_or_default()
    );
    assert!(wait_until(PATIENCE, || read(&log).contains("tick 5")));
    kill(child.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let mut out = String::new();
    if let Some(mut o) = child.0.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let file = read(&log);
    let found = out.lines().filter(|l| file.lines().any(|f| f == *l)).count();
    assert_eq!(found, out.lines().count(), "lines on stdout missing in the file");
    fault_common::record(
        "$LOGS_DIRECTORY not UTF-8 (`caf\\xe9`, in a list with a second directory); stream on",
        1,
        out.lines().count() as u64,
        found as u64,
        "the log file is in the directory named by the raw bytes (no `caf\\xEF\\xBF\\xBD` made); every stdout line is in it",
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsStr::from_bytes(b"caf\xe9").to_owned()],
        "only the raw name"
    );
}

/// Milliseconds since the epoch of a stamp `2018-11-27 13:47:59,971` read as UTC.
fn utc_millis(stamp: &str) -> Option<i64> {
    let n = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss, ms) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..23)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

#[test]
fn time_stamps_follow_the_wall_clock() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let now_ms = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as i64
    };
    assert_eq!(utc_millis("2018-11-27 13:47:59,971"), Some(1_543_326_479_971));
    let dir = TempDir::new("stamps");
    let log = dir.path().join("logd.log");
    let start = now_ms();
    let mut cmd = daemon(&[
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_TICK_LOG", "1"),
    ]);
    cmd.env("TZ", "UTC");
    let mut child = simple_daemon_tests::Reap(cmd.spawn().expect("spawn"));
    // Longer than two seconds: the stamps must cross at least two second boundaries.
    std::thread::sleep(Duration::from_millis(2300));
    kill(child.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let end = now_ms();
    let text = read(&log);
    let stamps: Vec<i64> = text
        .lines()
        .map(|l| utc_millis(l).unwrap_or_else(|| panic!("no stamp in {l:?}")))
        .collect();
    let (first, last) = (stamps[0], stamps[stamps.len() - 1]);
    assert!(
        start <= first && last <= end,
        "stamps {first}..{last} outside the test's window {start}..{end}"
    );
    for s in &stamps {
        assert!((start..=end).contains(s), "stamp {s} outside {start}..{end}");
    }
    assert!(
        last - first >= 2000,
        "a run of {} ms has stamps over {} ms only:\n{}",
        end - start,
        last - first,
        fault_common::tail(&text)
    );
    let seconds: std::collections::BTreeSet<i64> = stamps.iter().map(|s| s / 1000).collect();
    assert!(seconds.len() >= 3, "stamps from {} seconds only", seconds.len());
}

/// The plain backups, gzipped backups and compression temporaries of `log` in its directory.
fn backups(log: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let dir = log.parent().expect("a directory");
    let prefix = format!("{}.", log.file_name().expect("a name").to_string_lossy());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the log directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    let rest = |n: &String| n[prefix.len()..].to_owned();
    let plain = names
        .iter()
        .filter(|n| rest(n).parse::<u32>().is_ok())
        .cloned()
        .collect();
    let gz = names
        .iter()
        .filter(|n| {
            rest(n)
                .strip_suffix(".gz")
                .is_some_and(|d| d.parse::<u32>().is_ok())
        })
        .cloned()
        .collect();
    let tmp = names.iter().filter(|n| n.ends_with(".tmp")).cloned().collect();
    (plain, gz, tmp)
}

/// `log_daemon` under libfaketime in Berlin's time zone, its wall clock set by the file `clock`
/// (`@YYYY-MM-DD hh:mm:ss`, read anew at every clock reading), ticking (4 lines each 20 ms),
/// rotating every `every`.
fn faked(lib: &str, dir: &TempDir, clock: &Path, every: &str, extra: &[(&str, &str)]) -> Child {
    let clock = clock.to_str().expect("utf-8 path");
    let mut c = daemon(&[
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_ROTATE_EVERY", every),
        ("SD_TICK_LOG", "1"),
        ("LD_PRELOAD", lib),
        ("FAKETIME_TIMESTAMP_FILE", clock),
        ("FAKETIME_NO_CACHE", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("TZ", "Europe/Berlin"),
    ]);
    c.envs(extra.iter().copied()).spawn().expect("spawn log_daemon")
}

/// Stop `child` with SIGTERM (exit 0) and return the `tick <n>` numbers of each of `paths`.
fn stop_and_ticks(mut child: Child, paths: &[PathBuf]) -> Vec<Vec<u64>> {
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));
    paths
        .iter()
        .map(|p| {
            text(p)
                .lines()
                .filter_map(|l| l.split(" - INFO - tick ").nth(1)?.parse().ok())
                .collect()
        })
        .collect()
}

/// The ticks of all files, oldest file first, are 1, 2, 3, ...: none lost, none twice.
fn assert_ticks_contiguous(ticks: &[Vec<u64>]) {
    let all: Vec<u64> = ticks.iter().rev().flatten().copied().collect();
    let want: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(
        all, want,
        "tick lines lost, repeated or out of order across the files"
    );
}

/// The time stamps (`2026-03-29 01:59:58`) of every line of `p`.
fn stamps(p: &Path) -> Vec<String> {
    text(p)
        .lines()
        .map(|l| l.get(..19).unwrap_or(l).to_owned())
        .collect()
}

/// `rotate_every = "1h"` on the spring-forward day in Berlin: 02:00 CET is 03:00 CEST. The file
/// rotates once, at that boundary: the backup has only 01:59 lines, the new file only 03:00
/// lines, and every tick is in one of them.
#[test]
fn hourly_rotation_at_the_dst_jump_under_libfaketime() {
    let Some(lib) = faketime() else {
        return;
    };
    let dir = TempDir::new("rot-dst");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "@2026-03-29 01:59:57\n").expect("clock");
    let log = dir.path().join("logd.log");
    let child = faked(lib, &dir, &clock, "1h", &[]);
    assert!(
        wait_until(PATIENCE, || read(&log).contains("2026-03-29 03:00:01")),
        "the clock did not pass 03:00 CEST:\n{}",
        read(&log)
    );
    let all = files(&log);
    let ticks = stop_and_ticks(child, &all);
    assert_eq!(all.len(), 2, "one rotation: {all:?}");
    let old = stamps(&all[1]);
    let new = stamps(&all[0]);
    assert!(old.iter().all(|s| s.starts_with("2026-03-29 01:59:")), "{old:?}");
    assert!(new.iter().all(|s| s.starts_with("2026-03-29 03:00:")), "{new:?}");
    assert!(
        ticks[1].len() > 20 && ticks[0].len() > 20,
        "{:?}",
        ticks.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_ticks_contiguous(&ticks);
}

/// `rotate_every = "1d"` at the midnight that begins Berlin's 25-hour day (2026-10-25): one
/// rotation, at 00:00.
#[test]
fn daily_rotation_at_local_midnight_under_libfaketime() {
    let Some(lib) = faketime() else {
        return;
    };
    let dir = TempDir::new("rot-day");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "@2026-10-24 23:59:58\n").expect("clock");
    let log = dir.path().join("logd.log");
    let child = faked(lib, &dir, &clock, "1d", &[]);
    assert!(
        wait_until(PATIENCE, || read(&log).contains("2026-10-25 00:00:01")),
        "the clock did not pass midnight:\n{}",
        read(&log)
    );
    let all = files(&log);
    let ticks = stop_and_ticks(child, &all);
    assert_eq!(all.len(), 2, "one rotation: {all:?}");
    assert!(stamps(&all[1]).iter().all(|s| s.starts_with("2026-10-24 23:59:")));
    assert!(stamps(&all[0]).iter().all(|s| s.starts_with("2026-10-25 00:00:")));
    assert_ticks_contiguous(&ticks);
}

/// Wall-clock steps (an NTP step, a resume) with `rotate_every = "1h"`: past 11:00, the file
/// rotates; stepped back to 10:59:57, the clock passes 11:00 again, and the file is NOT rotated
/// again (that hour was); stepped forward five hours, it rotates once, not once per hour.
#[test]
fn clock_steps_rotate_once_forward_and_not_again_back_under_libfaketime() {
    let Some(lib) = faketime() else {
        return;
    };
    let dir = TempDir::new("rot-step");
    let clock = dir.path().join("clock");
    let set_clock = |t: &str| std::fs::write(&clock, format!("@2026-06-01 {t}\n")).expect("clock");
    set_clock("10:59:58");
    let log = dir.path().join("logd.log");
    let child = faked(lib, &dir, &clock, "1h", &[]);
    assert!(
        wait_until(PATIENCE, || read(&log).contains("2026-06-01 11:00:01")),
        "{}",
        read(&log)
    );
    assert_eq!(files(&log).len(), 2, "the first rotation, at 11:00");
    // Back over 11:00 (libfaketime sets its clock when the file's content changes).
    set_clock("10:59:57");
    assert!(
        wait_until(PATIENCE, || read(&log).contains("2026-06-01 10:59:57")),
        "{}",
        read(&log)
    );
    let passed_again = || {
        let t: String = files(&log).iter().rev().map(|p| text(p)).collect();
        t.rfind("2026-06-01 10:59:57")
            .is_some_and(|at| t[at..].contains("2026-06-01 11:00:01"))
    };
    assert!(wait_until(PATIENCE, passed_again), "{}", read(&log));
    assert_eq!(
        files(&log).len(),
        2,
        "11:00 passed again after a step back: no second rotation"
    );
    // Five hours forward: one rotation.
    set_clock("16:30:30");
    assert!(
        wait_until(PATIENCE, || files(&log).len() == 3
            && read(&log).contains("2026-06-01 16:30:31")),
        "{}",
        read(&log)
    );
    let all = files(&log);
    let ticks = stop_and_ticks(child, &all);
    assert_eq!(all.len(), 3, "five hours forward rotate once: {all:?}");
    let newest = stamps(&all[0]);
    assert!(
        newest.iter().all(|s| s.starts_with("2026-06-01 16:30:")),
        "{newest:?}"
    );
    let middle = stamps(&all[1]);
    assert!(
        middle
            .iter()
            .all(|s| s.starts_with("2026-06-01 11:00:") || s.starts_with("2026-06-01 10:59:")),
        "{middle:?}"
    );
    assert_ticks_contiguous(&ticks);
}

/// `compress` with 4 threads writing 64 KiB files: after the writers are done and the
/// compressions have settled, every backup is a `.gz` (no plain backup, no temporary), each
/// decompresses to at most the limit, and every line written is found once, in order.
#[test]
fn compressed_backups_hold_every_line() {
    const LINES: u64 = 8_000;
    const MAX: u64 = 64 * 1024;
    let dir = TempDir::new("gz");
    let log = dir.path().join("logd.log");
    let lines = LINES.to_string();
    let threads = THREADS.to_string();
    let max = MAX.to_string();
    let mut child = daemon(&[
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_THREADS", threads.as_str()),
        ("SD_LINES", lines.as_str()),
        ("SD_MAX_SIZE", max.as_str()),
        ("SD_MAX_FILES", "10000"),
        ("SD_COMPRESS", "1"),
    ])
    .spawn()
    .expect("spawn log_daemon");
    assert!(
        wait_until(PATIENCE, || {
            // One listing: a rotation between two would make the slice's bound stale.
            let now = files(&log);
            any_has(&now[..2.min(now.len())], "ALL DONE")
        }),
        "the writers did not finish"
    );
    assert!(
        wait_until(PATIENCE, || {
            let (plain, gz, tmp) = backups(&log);
            plain.is_empty() && tmp.is_empty() && !gz.is_empty()
        }),
        "the backups were not all compressed: {:?}",
        backups(&log)
    );
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));
    let all = files(&log);
    assert!(all.len() > 10, "expected many rotated files, got {all:?}");
    for p in &all[1..] {
        assert!(
            p.extension().is_some_and(|e| e == "gz"),
            "{} is not compressed",
            p.display()
        );
        let len = text(p).len() as u64;
        assert!(
            len <= MAX,
            "{} holds {len} bytes, over the {MAX} limit",
            p.display()
        );
    }
    let seen = count_lines(&all);
    assert_all_once(&seen, LINES);
    assert_in_order(&all);
    assert!(
        text(&all[all.len() - 1]).contains("PID: "),
        "the first file rotated out last"
    );
}

/// Retention with `compress`: `max_log_files = 3` keeps backups 1 to 3, each in one form.
#[test]
fn compressed_backups_keep_max_log_files() {
    let dir = TempDir::new("gz-keep");
    let log = dir.path().join("logd.log");
    let mut child = daemon(&[
        ("SD_LOG_DIR", dir.path().to_str().expect("utf-8 path")),
        ("SD_THREADS", "2"),
        ("SD_LINES", "5000"),
        ("SD_MAX_SIZE", "20000"),
        ("SD_MAX_FILES", "3"),
        ("SD_COMPRESS", "1"),
    ])
    .spawn()
    .expect("spawn log_daemon");
    assert!(wait_until(PATIENCE, || any_has(
        &files(&log)[..2.min(files(&log).len())],
        "ALL DONE"
    )));
    let settled = || {
        let (plain, gz, tmp) = backups(&log);
        plain.is_empty() && tmp.is_empty() && gz.len() == 3
    };
    assert!(wait_until(PATIENCE, settled), "{:?}", backups(&log));
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));
    let (plain, gz, tmp) = backups(&log);
    assert_eq!(
        gz,
        ["logd.log.1.gz", "logd.log.2.gz", "logd.log.3.gz"],
        "{plain:?} {tmp:?}"
    );
}

/// `kill -9` while a large backup is being compressed: the half-written temporary is not a
/// backup (no `.gz` appears, the plain file stays); the next start sweeps it and compresses
/// the plain file; every line is found once.
#[test]
fn kill_9_mid_compression_leaves_no_half_gz_and_loses_nothing() {
    const LINES: u64 = 30_000;
    let dir = TempDir::new("gz-kill");
    let log = dir.path().join("logd.log");
    let lines = LINES.to_string();
    let threads = THREADS.to_string();
    let path = dir.path().to_str().expect("utf-8 path").to_owned();
    // One rotation of about 8 MB: its compression runs long enough to be caught.
    let envs = [
        ("SD_LOG_DIR", path.as_str()),
        ("SD_MAX_SIZE", "8000000"),
        ("SD_MAX_FILES", "5"),
        ("SD_COMPRESS", "1"),
    ];
    let mut first: Vec<(&str, &str)> = envs.to_vec();
    first.extend([("SD_THREADS", threads.as_str()), ("SD_LINES", lines.as_str())]);
    let mut child = daemon(&first).spawn().expect("spawn log_daemon");
    let in_flight = wait_until(PATIENCE, || !backups(&log).2.is_empty());
    kill(child.id(), libc::SIGKILL);
    let _ = wait_exit(&mut child, PATIENCE);
    let (plain, gz, tmp) = backups(&log);
    assert!(
        in_flight,
        "no compression was seen in flight: {:?}",
        (plain, gz, tmp)
    );
    assert_eq!(
        plain,
        ["logd.log.1"],
        "the plain backup stays until its .gz is whole"
    );
    assert!(gz.is_empty(), "a half .gz was left as a backup: {gz:?}");
    assert_eq!(tmp.len(), 1, "{tmp:?}");
    // The writers are done when the compression starts (2 s after the rotation).
    assert!(any_has(&files(&log), "ALL DONE"), "the writers had not finished");

    // The next start: the temporary is swept, the plain backup compressed.
    let mut child = daemon(&envs).spawn().expect("spawn log_daemon again");
    assert!(
        wait_until(PATIENCE, || backups(&log)
            == (vec![], vec!["logd.log.1.gz".to_owned()], vec![])),
        "{:?}",
        backups(&log)
    );
    kill(child.id(), libc::SIGTERM);
    let st = wait_exit(&mut child, PATIENCE);
    assert_eq!(st.code(), Some(0), "stderr: {}", stderr_of(&mut child));
    let all = files(&log);
    let seen = count_lines(&all);
    assert_all_once(&seen, LINES);
    assert_in_order(&all);
}

/// The two-writer hardening costs no system call per record near the size limit: a direct
/// writer alone takes the directory lock (and looks at the file) at most once a millisecond or
/// per 256th of the limit, not for every record of the last sixteenth (which was 1,600 `flock`
/// calls per rotation of a 1 MiB file). Counted with `strace -c` on a real process.
#[test]
fn near_the_limit_the_directory_lock_is_not_taken_per_record() {
    let Some(strace) = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        skip_or_fail("strace is not installed (apt-get install strace; scripts/test-all does it)");
        return;
    };
    const LINES: u64 = 30_000;
    let dir = TempDir::new("flock-per-line");
    let counts = dir.path().join("strace.txt");
    let lines = LINES.to_string();
    let log_dir = dir.path().join("logs");
    std::fs::create_dir_all(&log_dir).expect("mkdir");
    let mut cmd = Command::new(strace);
    cmd.args(["-f", "-c", "-U", "name,calls", "-e", "trace=flock,write", "-o"])
        .arg(&counts)
        .arg(env!("CARGO_BIN_EXE_log_daemon"))
        .envs([
            ("SD_LOG_DIR", log_dir.to_str().expect("utf-8 path")),
            ("SD_THREADS", "1"),
            ("SD_LINES", lines.as_str()),
            ("SD_MAX_SIZE", "1048576"),
            ("SD_MAX_FILES", "5"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = simple_daemon_tests::Reap(cmd.spawn().expect("spawn strace"));
    let log = log_dir.join("logd.log");
    let done = wait_until(PATIENCE * 4, || {
        files(&log).iter().any(|p| read(p).contains("ALL DONE"))
    });
    // Stop the daemon strace runs (strace itself would detach from it and leave it running).
    let strace_pid = child.0.id();
    let traced: Vec<u32> = read(Path::new(&format!(
        "/proc/{strace_pid}/task/{strace_pid}/children"
    )))
    .split_whitespace()
    .filter_map(|p| p.parse().ok())
    .collect();
    for pid in &traced {
        kill(*pid, libc::SIGTERM);
    }
    let st = wait_exit(&mut child.0, PATIENCE);
    assert!(done, "log_daemon did not finish its {LINES} lines");
    assert!(!traced.is_empty(), "strace ran no log_daemon");
    assert!(st.success(), "strace: {st}: {}", stderr_of(&mut child.0));
    let table = read(&counts);
    let calls = |name: &str| -> u64 {
        table
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next()?.parse().ok()).flatten()
            })
            .unwrap_or(0)
    };
    let (flocks, writes) = (calls("flock"), calls("write"));
    let rotations = files(&log).len().saturating_sub(1).max(1) as u64;
    eprintln!("{LINES} lines, {rotations}+ rotations: {writes} write, {flocks} flock\n{table}");
    assert!(
        writes >= LINES,
        "strace saw {writes} writes for {LINES} lines:\n{table}"
    );
    // A lock and an unlock per locked look: at most a few dozen per rotation.
    assert!(
        flocks <= LINES / 20,
        "{flocks} flock calls for {LINES} lines ({rotations}+ rotations): the lock is taken per record near the limit\n{table}"
    );
}

/// Two processes on one file (template units) with `rotate_every = "1h"`, their clocks passing
/// 11:00 together: the file is rotated once, not once per writer; the backup has only 10:59
/// lines, the new file only 11:00 lines, and each writer's ticks are all there, in order.
#[test]
fn two_writers_rotate_once_at_the_hour_under_libfaketime() {
    let Some(lib) = faketime() else {
        return;
    };
    let dir = TempDir::new("rot-two");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "@2026-06-01 10:59:57\n").expect("clock");
    let log = dir.path().join("logd.log");
    let spawn = |who: &str| {
        let format = format!("{{time}} - logd - {{level}} - {who} {{message}}");
        faked(lib, &dir, &clock, "1h", &[("SD_FORMAT", &format)])
    };
    let (a, b) = (spawn("A"), spawn("B"));
    let both_past = || {
        let t = read(&log);
        t.contains("11:00:02") && t.contains(" - A tick ") && t.contains(" - B tick ")
    };
    assert!(wait_until(PATIENCE, both_past), "{}", read(&log));
    stop_and_ticks(a, &[]);
    stop_and_ticks(b, &[]);
    let all = files(&log);
    assert_eq!(all.len(), 2, "two writers rotated once: {all:?}");
    assert!(stamps(&all[1]).iter().all(|s| s.starts_with("2026-06-01 10:59:")));
    assert!(stamps(&all[0]).iter().all(|s| s.starts_with("2026-06-01 11:00:")));
    for who in ["A", "B"] {
        let needle = format!(" - INFO - {who} tick ");
        let ticks: Vec<Vec<u64>> = all
            .iter()
            .map(|f| {
                text(f)
                    .lines()
                    .filter_map(|l| l.split(&needle).nth(1)?.parse().ok())
                    .collect()
            })
            .collect();
        assert!(
            ticks.iter().all(|t| !t.is_empty()),
            "{who} has lines in both files: {ticks:?}"
        );
        assert_ticks_contiguous(&ticks);
    }
}
