//! Shared by the fault suites: starting `fault_daemon`, checking every log line, counting flood
//! lines, and the summary table (`target/fault-summary.md`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use simple_daemon_tests::{read, wait_exit, wait_for_line, wait_until, TempDir, PATIENCE};

/// The daemon's name in every line.
pub const NAME: &str = "FaultDaemon";

/// A running `fault_daemon`.
pub struct Fd {
    pub child: Child,
    pub log: PathBuf,
    pub dir: TempDir,
}

impl Drop for Fd {
    /// A test that fails before it stops its daemon leaks no process.
    fn drop(&mut self) {
        simple_daemon_tests::reap(&mut self.child);
    }
}

/// Start `fault_daemon` logging into a fresh directory, and wait for its `Mode:` line when
/// `wait_mode`.
pub fn spawn(tag: &str, envs: &[(&str, &str)], wait_mode: bool) -> Fd {
    let dir = TempDir::new(tag);
    spawn_in(dir, envs, wait_mode)
}

/// The `fault_daemon` command logging to `log_dir`, with the systemd variables the test process
/// may have inherited removed, so every run starts from the same environment.
pub fn fault_daemon(log_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fault_daemon"));
    for var in [
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "LOGS_DIRECTORY",
        "JOURNAL_STREAM",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("FD_LOG_DIR", log_dir);
    cmd
}

/// Like [`spawn`], in a directory made by the caller.
pub fn spawn_in(dir: TempDir, envs: &[(&str, &str)], wait_mode: bool) -> Fd {
    let log = dir.path().join(format!("{NAME}.log"));
    let child = fault_daemon(dir.path())
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fault_daemon");
    let fd = Fd { child, log, dir };
    if wait_mode {
        fd.wait_line("Mode: ");
    }
    fd
}

impl Fd {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn wait_line(&self, needle: &str) {
        assert!(
            wait_for_line(&self.log, needle, PATIENCE),
            "no line {needle:?} in:\n{}",
            tail(&read(&self.log))
        );
    }

    pub fn signal(&self, sig: i32) {
        simple_daemon_tests::kill(self.pid(), sig);
    }

    /// Still running (not exited, not a zombie)?
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Wait for the exit: (status code or -signal, log, stderr). The directory stays until
    /// `self` is dropped.
    pub fn exit(&mut self) -> (i32, String, String) {
        let st = wait_exit(&mut self.child, PATIENCE);
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        let code = match st.code() {
            Some(c) => c,
            None => -std::os::unix::process::ExitStatusExt::signal(&st).unwrap_or(0),
        };
        (code, read(&self.log), err)
    }
}

/// The last 40 lines, for failure messages about big logs.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// How many lines contain `needle`.
pub fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

/// Whether `line` is in the seed's format, `2018-11-27 13:47:59,971 - NAME - LEVEL - message`,
/// and returns the message.
pub fn parse_line<'a>(line: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let b = line.as_bytes();
    if b.len() < 24 {
        return None;
    }
    for (i, &c) in b[..23].iter().enumerate() {
        let ok = match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            19 => c == b',',
            _ => c.is_ascii_digit(),
        };
        if !ok {
            return None;
        }
    }
    let rest = line[23..].strip_prefix(" - ")?;
    let rest = rest.strip_prefix(name)?.strip_prefix(" - ")?;
    let (level, msg) = rest.split_once(" - ")?;
    matches!(level, "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE").then_some((level, msg))
}

/// The padding `fault_daemon` gives flood line `n` of thread `t` (same rule as the daemon).
pub fn flood_pad(t: u64, n: u64) -> String {
    let len = ((n * 7 + t * 13) % 97) as usize;
    let c = char::from(b'a' + (n % 26) as u8);
    std::iter::repeat_n(c, len).collect()
}

/// What a log holds, line by line.
#[derive(Debug, Default)]
pub struct Audit {
    /// Lines in all.
    pub lines: usize,
    /// Lines not in the format (or flood lines whose text is not intact), with their number.
    pub bad: Vec<(usize, String)>,
    /// Per flood thread: how many lines, in order, from 0 with no gap.
    pub flood: BTreeMap<u64, u64>,
    /// Flood lines out of order, duplicated, or after a gap.
    pub disorder: Vec<String>,
}

/// Check every line of `log` (the concatenation of files, oldest first).
pub fn audit(log: &str) -> Audit {
    let mut a = Audit::default();
    for (i, line) in log.lines().enumerate() {
        a.lines += 1;
        let Some((_, msg)) = parse_line(line, NAME) else {
            a.bad.push((i + 1, line.to_owned()));
            continue;
        };
        let Some(rest) = msg.strip_prefix("flood t=") else {
            continue;
        };
        if rest.contains(" wrote ") {
            continue;
        }
        let parsed = (|| {
            let (t, rest) = rest.split_once(" n=")?;
            let (n, pad) = rest.split_once(' ').unwrap_or((rest, ""));
            Some((t.parse::<u64>().ok()?, n.parse::<u64>().ok()?, pad))
        })();
        let Some((t, n, pad)) = parsed else {
            a.bad.push((i + 1, line.to_owned()));
            continue;
        };
        if pad != flood_pad(t, n) {
            a.bad.push((i + 1, line.to_owned()));
            continue;
        }
        let next = a.flood.entry(t).or_insert(0);
        if n != *next {
            a.disorder
                .push(format!("line {}: thread {t} line {n}, expected {next}", i + 1));
        }
        *next = n + 1;
    }
    a
}

/// The counters `fault_daemon` keeps in `FD_COUNTERS`: per flood thread, log calls returned.
pub fn counters(path: &Path) -> Vec<u64> {
    std::fs::read(path)
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// The target directory of this build (respects `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test binary>
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// Record a row of the fault table: printed now, and kept in `target/fault-summary.md` (rows of
/// every fault test, rewritten by each one).
///
/// `written` and `found` must be two counts the test made independently (lines logged, e.g. from
/// stdout or the tick numbers, and lines found in the files), so that `lines lost` is a
/// measurement. Where the test has no such pair, use [`record_asserted`].
pub fn record(fault: &str, injections: u64, written: u64, found: u64, outcome: &str) {
    let lost = written.saturating_sub(found);
    write_row(
        fault,
        &format!("| {fault} | {injections} | {written} | {found} | {lost} | {outcome} |"),
    );
}

/// Record a row whose lines lost are not counted: `lines written` and `lines lost` read `n/a`,
/// the latter with what the test asserted instead (`asserted`); `found` is the lines the test
/// did count, if any (`None` for a fault that involves no log lines).
pub fn record_asserted(fault: &str, injections: u64, found: Option<u64>, asserted: &str, outcome: &str) {
    let found = found.map_or_else(|| "n/a".to_owned(), |n| n.to_string());
    write_row(
        fault,
        &format!("| {fault} | {injections} | n/a | {found} | n/a (asserted: {asserted}) | {outcome} |"),
    );
}

fn write_row(fault: &str, row: &str) {
    eprintln!("FAULT {row}");
    let rows = target_dir().join("fault-summary.d");
    let _ = std::fs::create_dir_all(&rows);
    let key: String = fault
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let _ = std::fs::write(rows.join(format!("{key}.row")), format!("{row}\n"));
    let mut all: Vec<(PathBuf, String)> = std::fs::read_dir(&rows)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| (e.path(), read(&e.path())))
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    let mut table = String::from(
        "# Fault suite summary\n\nWritten by `cargo test -p simple-daemon-tests --test 'faults*'`.\n\n\
         | fault | injections | lines written | lines found | lines lost | outcome |\n\
         |---|---|---|---|---|---|\n",
    );
    for (_, r) in all {
        table.push_str(&r);
    }
    let out = target_dir().join("fault-summary.md");
    let tmp = target_dir().join(format!("fault-summary.md.{}", std::process::id()));
    if std::fs::write(&tmp, table).is_ok() {
        let _ = std::fs::rename(&tmp, out);
    }
}

/// A notify peer: a datagram socket at `dir/notify.sock` (what `$NOTIFY_SOCKET` names).
pub struct NotifyPeer {
    pub sock: UnixDatagram,
    pub path: PathBuf,
}

impl NotifyPeer {
    pub fn bind(dir: &Path) -> NotifyPeer {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        NotifyPeer { sock, path }
    }

    /// Every datagram received until now (waits at most 50 ms for the next one).
    pub fn drain(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

/// Signals per storm, in all.
pub const STORM: u64 = 10_000;
/// Sender processes per storm.
pub const SENDERS: u64 = 4;

/// Run `SENDERS` `fault_kill` processes against `pid`, released together, each sending its share
/// of `STORM` signals cycling through `sigs`; returns how many `kill(2)` calls succeeded.
pub fn storm(pid: u32, sigs: &str) -> u64 {
    storm_of(pid, sigs, STORM)
}

/// Like [`storm`], `total` signals.
pub fn storm_of(pid: u32, sigs: &str, total: u64) -> u64 {
    let mut senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_fault_kill"))
                .args([pid.to_string(), (total / SENDERS).to_string(), sigs.into()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn fault_kill")
        })
        .collect();
    for s in &mut senders {
        let mut stdin = s.stdin.take().expect("stdin");
        stdin.write_all(b"go\n").expect("release sender");
    }
    senders
        .into_iter()
        .map(|s| {
            let out = s.wait_with_output().expect("sender output");
            assert!(out.status.success(), "fault_kill failed: {out:?}");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .expect("sent count")
        })
        .sum()
}

/// Flood threads in the daemon, and the most lines each logs.
pub const FLOOD: &str = "4:60000";
pub const FLOOD_THREADS: usize = 4;

/// Start a flooding daemon and wait until every flood thread has logged some lines.
pub fn flooding(tag: &str, extra: &[(&str, &str)]) -> (Fd, std::path::PathBuf) {
    let dir = TempDir::new(tag);
    let ctr = dir.path().join("counters");
    let ctr_s = ctr.to_string_lossy().into_owned();
    let mut envs = vec![
        ("FD_FLOOD", FLOOD),
        ("FD_COUNTERS", ctr_s.as_str()),
        ("FD_INTERVAL_MS", "5"),
        // No rotation: every line must stay in one file to be counted.
        ("FD_MAX_LOG_SIZE", "1099511627776"),
    ];
    envs.extend_from_slice(extra);
    let fd = spawn_in(dir, &envs, true);
    assert!(
        wait_until(PATIENCE, || {
            let c = counters(&ctr);
            c.len() == FLOOD_THREADS && c.iter().all(|&n| n >= 2000)
        }),
        "flood threads did not start:\n{}",
        tail(&read(&fd.log))
    );
    (fd, ctr)
}

/// The line accounting of a flood: (written = log calls that returned, found = lines in the
/// file, in order, intact). Asserts every line is in the format and nothing is lost.
pub fn account(log: &str, ctr: &std::path::Path) -> (u64, u64) {
    let a = audit(log);
    assert!(
        a.bad.is_empty(),
        "{} lines not intact, first: {:?}",
        a.bad.len(),
        &a.bad[..a.bad.len().min(5)]
    );
    assert!(
        a.disorder.is_empty(),
        "flood lines out of order or missing: {:?}",
        &a.disorder[..a.disorder.len().min(5)]
    );
    let written = counters(ctr);
    assert_eq!(written.len(), FLOOD_THREADS);
    let mut total_w = 0;
    let mut total_f = 0;
    for (t, &w) in written.iter().enumerate() {
        let f = a.flood.get(&(t as u64)).copied().unwrap_or(0);
        // A line may be in the file while its counter was not yet stored (the process ended
        // between the two): found may exceed written by one, never fall short.
        assert!(
            f >= w && f <= w + 1,
            "thread {t}: {w} log calls returned, {f} lines found"
        );
        total_w += w;
        total_f += f.min(w);
    }
    (total_w, total_f)
}
