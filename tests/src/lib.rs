//! Shared harness for the cross-crate tests: spawn a daemon binary as a real child process,
//! send it real signals, and wait on observable events (a line in a file) with bounded polls.
//!
//! ```
//! let dir = simple_daemon_tests::TempDir::new("doc");
//! std::fs::write(dir.path().join("a.log"), "x - PID: 1\n").unwrap();
//! assert!(simple_daemon_tests::wait_for_line(&dir.path().join("a.log"), "PID: ", simple_daemon_tests::PATIENCE));
//! ```
//!
//! It also holds what the env-configured test daemons (`src/bin/*_daemon.rs`) share: reading
//! environment variables ([`env_var`], [`env_ms`], [`env_num`]) and building a
//! [`SimpleDaemon`] from the `SD_*` variables they all give the same meaning
//! ([`builder_from_env`], [`timing_from_env`]).

pub mod poller;

/// The README's Rust snippets as doc tests, so one that stops compiling fails `cargo test`: the
/// ones without a `main` of their own run, `no_run` ones (a daemon that would run for a minute)
/// are compiled. The two marked `ignore` need a crate layout of their own (a library beside the
/// binary, an integration test of a package's binary).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::str::FromStr;
use std::time::{Duration, Instant};

use simple_daemon::{Mode, SimpleDaemon};

/// How long a test waits for something that should happen at once. Generous, because CI
/// machines are shared; it bounds a failing test, it is never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The bound on an aggressive (or escalated) stop, from the signal to the process's exit, that
/// tests assert on real processes: the README promises at most 500 ms of waiting for the log
/// sinks, a normal stop takes about a millisecond, and the rest is slack for a loaded machine.
pub const AT_ONCE: Duration = Duration::from_secs(1);

/// Wait for `child` to exit (see [`wait_exit`]) and assert it did within `bound` of `since`
/// (the moment the test sent the stop signal).
///
/// ```
/// let mut child = std::process::Command::new("true").spawn().unwrap();
/// let st = simple_daemon_tests::exit_within(&mut child, std::time::Instant::now(), simple_daemon_tests::AT_ONCE);
/// assert!(st.success());
/// ```
///
/// # Panics
///
/// When the exit took longer than `bound`, or did not come within [`PATIENCE`].
pub fn exit_within(child: &mut Child, since: Instant, bound: Duration) -> ExitStatus {
    let st = wait_exit(child, PATIENCE);
    let took = since.elapsed();
    assert!(
        took < bound,
        "daemon {} took {took:?} from the stop signal to its exit; the bound is {bound:?}",
        child.id()
    );
    st
}

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system temp dir, named after `tag`.
    pub fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("sd-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Send `signal` to process `pid`.
pub fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// The contents of a file, or empty when it does not exist (yet).
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Poll `path` until a line contains `needle`; `false` after `patience`.
pub fn wait_for_line(path: &Path, needle: &str, patience: Duration) -> bool {
    wait_until(patience, || read(path).lines().any(|l| l.contains(needle)))
}

/// Poll until `cond` holds; `false` after `patience`.
pub fn wait_until(patience: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + patience;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait for `child` to exit; kills it and panics after `patience`.
pub fn wait_exit(child: &mut Child, patience: Duration) -> ExitStatus {
    let end = Instant::now() + patience;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("daemon {} did not exit within {patience:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The lines of a log file that contain `needle`.
pub fn lines_with(path: &Path, needle: &str) -> Vec<String> {
    read(path)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Milliseconds since midnight of a seed-format line's time stamp (`2018-11-27 13:47:59,971`).
///
/// ```
/// let line = "2018-11-27 13:47:59,971 - MyDaemon - INFO - beat";
/// assert_eq!(simple_daemon_tests::stamp_ms(line), Some(((13 * 60 + 47) * 60 + 59) * 1000 + 971));
/// ```
pub fn stamp_ms(line: &str) -> Option<u64> {
    let t = line.get(11..23)?;
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<u64>().ok();
    Some(((num(0..2)? * 60 + num(3..5)?) * 60 + num(6..8)?) * 1000 + num(9..12)?)
}

/// The position of the first line containing `needle`, for order assertions.
pub fn position(log: &str, needle: &str) -> Option<usize> {
    log.lines().position(|l| l.contains(needle))
}

/// Whether end-to-end peers are required (CI sets `SIMPLE_DAEMON_E2E=required`): a test that
/// cannot start its peer fails then, and is reported as skipped otherwise.
pub fn e2e_required() -> bool {
    std::env::var("SIMPLE_DAEMON_E2E").is_ok_and(|v| v == "required")
}

/// Skip (print the reason and return `true`) or fail, when a peer is unavailable.
pub fn skip_or_fail(reason: &str) -> bool {
    assert!(!e2e_required(), "SIMPLE_DAEMON_E2E=required, but {reason}");
    eprintln!("SKIPPED: {reason}");
    true
}

/// libfaketime's library (E2E-PEERS.md section 7), or `None` when it is not installed (then
/// the caller skips, [`skip_or_fail`], or fails when peers are required).
///
/// ```
/// if let Some(lib) = simple_daemon_tests::faketime() {
///     assert!(lib.ends_with("libfaketime.so.1"));
/// }
/// ```
pub fn faketime() -> Option<&'static str> {
    const LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if Path::new(LIB).exists() {
        Some(LIB)
    } else {
        skip_or_fail("libfaketime is not installed (apt-get install libfaketime)");
        None
    }
}

/// The value of environment variable `name`; `None` when it is unset, empty or not Unicode.
///
/// ```
/// assert_eq!(simple_daemon_tests::env_var("SD_DOC_SURELY_UNSET"), None);
/// ```
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Environment variable `name` as a whole number of milliseconds; `None` when it is unset,
/// empty or not a number.
///
/// ```
/// assert_eq!(simple_daemon_tests::env_ms("SD_DOC_SURELY_UNSET"), None);
/// ```
pub fn env_ms(name: &str) -> Option<Duration> {
    env_num(name).map(Duration::from_millis)
}

/// Environment variable `name` parsed as a `T`; `None` when it is unset, empty or does not
/// parse.
///
/// ```
/// assert_eq!(simple_daemon_tests::env_num::<u64>("SD_DOC_SURELY_UNSET"), None);
/// ```
pub fn env_num<T: FromStr>(name: &str) -> Option<T> {
    env_var(name).and_then(|v| v.parse().ok())
}

/// A [`SimpleDaemon`] named `name`, with the `SD_*` variables every `SD_`-configured test daemon
/// (`rt_daemon`, `sd_daemon`, `log_daemon`) gives the same meaning:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SD_LOG_DIR` | `log_path` | unset: the runtime's location chain |
/// | `SD_MODE` | `aggressive`: `mode(Mode::Aggressive)`; any other value: passive | passive |
/// | `SD_STREAM` | set (non-empty): `stream(true)` | off |
///
/// A daemon applies its own variables after this; [`timing_from_env`] adds the tick timing.
///
/// ```
/// let config = simple_daemon_tests::builder_from_env("DocDaemon").config().unwrap();
/// assert_eq!(config.name(), "DocDaemon");
/// ```
pub fn builder_from_env(name: impl Into<String>) -> SimpleDaemon {
    let mut b = SimpleDaemon::new(name);
    if let Some(dir) = env_var("SD_LOG_DIR") {
        b = b.log_path(dir);
    }
    if env_var("SD_MODE").as_deref() == Some("aggressive") {
        b = b.mode(Mode::Aggressive);
    }
    if env_var("SD_STREAM").is_some() {
        b = b.stream(true);
    }
    b
}

/// `b` with the tick timing of the `SD_*` variables, for the daemons whose interface has them
/// (`rt_daemon`, `sd_daemon`; `log_daemon` has a fixed interval and no stop timeout):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SD_INTERVAL_MS` | `interval` (ms) | none: ticks back to back |
/// | `SD_STOP_TIMEOUT_MS` | `stop_timeout` (ms), the passive stop timeout | none |
pub fn timing_from_env(mut b: SimpleDaemon) -> SimpleDaemon {
    if let Some(i) = env_ms("SD_INTERVAL_MS") {
        b = b.interval(i);
    }
    if let Some(t) = env_ms("SD_STOP_TIMEOUT_MS") {
        b = b.stop_timeout(t);
    }
    b
}

/// A child process killed (and reaped) when this is dropped: a test that fails before it stops
/// its daemon leaks no process.
///
/// ```
/// let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
/// let pid = child.id();
/// drop(simple_daemon_tests::Reap(child));
/// assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
/// ```
#[derive(Debug)]
pub struct Reap(pub Child);

impl Drop for Reap {
    fn drop(&mut self) {
        reap(&mut self.0);
    }
}

/// Kill `child` if it still runs, and reap it: for the `Drop` of a test's daemon handle.
pub fn reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A daemon a test spawned, with its log file and the directory that holds it: killed and reaped
/// when dropped ([`Reap`]), its directory removed after.
///
/// ```
/// use simple_daemon_tests::{Spawned, TempDir};
///
/// let dir = TempDir::new("doc-spawned");
/// let log = dir.path().join("x.log");
/// std::fs::write(&log, "Mode: PASSIVE\n").unwrap();
/// let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
/// let d = Spawned::new(child, log, dir);
/// d.wait_line("Mode: ");
/// let (code, _log) = d.stop_within(libc::SIGTERM, std::time::Duration::from_secs(5));
/// assert_eq!(code, -1); // `sleep` dies of the signal: no exit status
/// ```
#[derive(Debug)]
pub struct Spawned {
    /// The process.
    pub child: Reap,
    /// Its log file.
    pub log: PathBuf,
    _dir: TempDir,
}

impl Spawned {
    /// Take charge of `child`, which logs to `log` inside `dir`.
    pub fn new(child: Child, log: PathBuf, dir: TempDir) -> Self {
        Spawned {
            child: Reap(child),
            log,
            _dir: dir,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Wait (at most [`PATIENCE`]) for a line containing `needle` in the log; panic without.
    pub fn wait_line(&self, needle: &str) {
        assert!(
            wait_for_line(&self.log, needle, PATIENCE),
            "no line {needle:?} in:\n{}",
            read(&self.log)
        );
    }

    /// Send `sig` to the process.
    pub fn signal(&self, sig: i32) {
        kill(self.pid(), sig);
    }

    /// Wait (at most [`PATIENCE`]) for the exit: its status (-1 for a death by a signal) and
    /// the log.
    pub fn exit(mut self) -> (i32, String) {
        let st = wait_exit(&mut self.child.0, PATIENCE);
        (st.code().unwrap_or(-1), read(&self.log))
    }

    /// Send `sig` and wait for the exit, which must come within `bound` of the signal.
    pub fn stop_within(mut self, sig: i32, bound: Duration) -> (i32, String) {
        let sent = Instant::now();
        self.signal(sig);
        let st = exit_within(&mut self.child.0, sent, bound);
        (st.code().unwrap_or(-1), read(&self.log))
    }

    /// Send `sig` and wait for the exit, which must come within [`AT_ONCE`] of the signal.
    pub fn stop_at_once(self, sig: i32) -> (i32, String) {
        self.stop_within(sig, AT_ONCE)
    }

    /// The names of the process's threads.
    pub fn threads(&self) -> Vec<String> {
        let dir = format!("/proc/{}/task", self.pid());
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                    .map(|s| s.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}
