//! The syslog sink against a real rsyslogd, started by the test on a private socket (imuxsock
//! with `SysSock.Use="off"`, an omfile action in the traditional format): tag, pid and severity
//! of each line; the socket lost and back; the socket missing at start (exit 78).
//!
//! Without rsyslogd the rsyslog tests print a skip reason, or fail when
//! `SIMPLE_DAEMON_E2E=required`.

mod fault_common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use simple_daemon_tests::{kill, read, skip_or_fail, wait_exit, wait_until, TempDir, PATIENCE};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// A private rsyslogd: `log.sock` in, `messages.log` (traditional format) and `fields.log`
/// (`severity|facility|tag|procid|msg`) out.
struct Rsyslog {
    child: Child,
    dir: PathBuf,
}

impl Rsyslog {
    /// Start it, or `None` (after skip-or-fail) when rsyslogd is not installed.
    fn start(dir: &Path) -> Option<Rsyslog> {
        if !Path::new(RSYSLOGD).exists() {
            skip_or_fail(&format!(
                "{RSYSLOGD} is not installed (apt-get install -y rsyslog)"
            ));
            return None;
        }
        let d = dir.display();
        let conf = format!(
            r#"global(workDirectory="{d}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{d}/log.sock" Annotate="on" ParseTrusted="on")
template(name="fields" type="string" string="%syslogseverity%|%syslogfacility-text%|%syslogtag%|%procid%|%msg%\n")
*.* action(type="omfile" file="{d}/messages.log" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="{d}/fields.log" template="fields")
"#
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).expect("write rsyslog.conf");
        Some(Rsyslog::spawn(dir))
    }

    fn spawn(dir: &Path) -> Rsyslog {
        let sock = dir.join("log.sock");
        let _ = std::fs::remove_file(&sock);
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rsyslogd");
        let mut r = Rsyslog {
            child,
            dir: dir.to_path_buf(),
        };
        if !wait_until(PATIENCE, || sock.exists()) {
            let _ = r.child.kill();
            let mut err = String::new();
            if let Some(mut e) = r.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("rsyslogd did not create {}: {err}", sock.display());
        }
        r
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("log.sock")
    }

    fn fields(&self) -> String {
        read(&self.dir.join("fields.log"))
    }

    fn stop(mut self) -> PathBuf {
        kill(self.child.id(), libc::SIGTERM);
        wait_exit(&mut self.child, PATIENCE);
        self.dir.clone()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn daemon(log_dir: &Path, socket: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_log_daemon"))
        .env("SD_LOG_DIR", log_dir)
        .env("SD_SYSLOG_SOCKET", socket)
        .env("SD_TICK_LOG", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn log_daemon")
}

/// The `fields.log` line for `msg`, split: `[severity, facility, tag, procid, msg]`.
fn field_line(fields: &str, msg: &str) -> Option<Vec<String>> {
    fields
        .lines()
        .map(|l| l.splitn(5, '|').map(str::to_owned).collect::<Vec<_>>())
        .find(|f| f.len() == 5 && f[4].trim_start() == msg)
}

#[test]
fn rsyslog_receives_the_seed_lines_with_tag_pid_and_severity() {
    let dir = TempDir::new("rsyslog");
    let Some(rsyslog) = Rsyslog::start(dir.path()) else {
        return;
    };
    let logs = TempDir::new("rsyslog-logs");
    let mut child = daemon(logs.path(), &rsyslog.socket());
    let pid = child.id();
    assert!(
        wait_until(PATIENCE, || field_line(&rsyslog.fields(), "error 1").is_some()),
        "no `error 1` in rsyslog:\n{}\nfile:\n{}",
        rsyslog.fields(),
        read(&logs.path().join("logd.log"))
    );
    kill(pid, libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, PATIENCE).code(), Some(0));
    assert!(wait_until(PATIENCE, || field_line(
        &rsyslog.fields(),
        "Graceful Interrupt..."
    )
    .is_some()));

    let fields = rsyslog.fields();
    let tag = format!("logd[{pid}]:");
    for (msg, severity) in [
        (format!("PID: {pid}"), "6"),
        ("Set signal handler: 2".into(), "7"),
        ("Set signal handler: 15".into(), "7"),
        ("Mode: PASSIVE".into(), "6"),
        ("tick 1".into(), "6"),
        ("debug 1".into(), "7"),
        ("warn 1".into(), "4"),
        ("error 1".into(), "3"),
        ("Received 15 signal.".into(), "6"),
        ("Graceful Interrupt...".into(), "6"),
    ] {
        let f = field_line(&fields, &msg).unwrap_or_else(|| panic!("no {msg:?} in:\n{fields}"));
        assert_eq!(f[0], severity, "severity of {msg:?}: {f:?}");
        assert_eq!(f[1], "daemon", "facility of {msg:?}: {f:?}");
        assert_eq!(f[2], tag, "tag of {msg:?}: {f:?}");
        assert_eq!(f[3], pid.to_string(), "procid of {msg:?}: {f:?}");
    }
    // The traditional format: `Mmm dd hh:mm:ss HOST logd[PID]: PID: <pid>`.
    let dir = rsyslog.stop();
    let messages = read(&dir.join("messages.log"));
    let want = format!(" {tag} PID: {pid}");
    assert!(messages.lines().any(|l| l.ends_with(&want)), "{messages}");
}

#[test]
fn syslog_lost_is_one_warning_and_sending_resumes_when_it_is_back() {
    let dir = TempDir::new("rsyslog-lost");
    let Some(rsyslog) = Rsyslog::start(dir.path()) else {
        return;
    };
    let logs = TempDir::new("rsyslog-lost-logs");
    let log = logs.path().join("logd.log");
    let mut child = daemon(logs.path(), &rsyslog.socket());
    assert!(wait_until(PATIENCE, || field_line(&rsyslog.fields(), "tick 2").is_some()));

    // Lose the socket: the file goes on, with one warning.
    let dir_path = rsyslog.stop();
    let _ = std::fs::remove_file(dir_path.join("log.sock"));
    assert!(
        wait_until(PATIENCE, || read(&log).contains("is lost")),
        "no warning in:\n{}",
        read(&log)
    );
    let ticks_then = read(&log)
        .lines()
        .filter(|l| l.contains(" - INFO - tick "))
        .count();
    assert!(wait_until(PATIENCE, || {
        read(&log)
            .lines()
            .filter(|l| l.contains(" - INFO - tick "))
            .count()
            > ticks_then + 3
    }));

    // Back: rsyslogd again at the same path; sending resumes by itself.
    let rsyslog = Rsyslog::spawn(&dir_path);
    assert!(
        wait_until(PATIENCE, || read(&log).contains("is back")),
        "no recovery in:\n{}",
        read(&log)
    );
    let last_tick = |text: &str| {
        text.lines()
            .filter_map(|l| l.split(" - INFO - tick ").nth(1)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    };
    let after = last_tick(&read(&log));
    assert!(
        wait_until(PATIENCE, || {
            rsyslog
                .fields()
                .lines()
                .filter_map(|l| {
                    l.rsplit('|')
                        .next()?
                        .trim()
                        .strip_prefix("tick ")?
                        .parse::<u64>()
                        .ok()
                })
                .any(|n| n > after)
        }),
        "no tick after the recovery reached rsyslog:\n{}",
        rsyslog.fields()
    );
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, PATIENCE).code(), Some(0));
    let text = read(&log);
    let warnings = text
        .lines()
        .filter(|l| l.contains(" - WARN - syslog socket"))
        .count();
    assert_eq!(warnings, 1, "one warning expected:\n{text}");
    assert!(text
        .lines()
        .any(|l| l.contains(" - WARN - syslog socket ") && l.contains("is lost")));

    // The fault table's row: every tick is in the file; rsyslog has all but those logged while
    // it was gone (the design sends those to the file only).
    let in_file: BTreeSet<u64> = text
        .lines()
        .filter_map(|l| l.split(" - INFO - tick ").nth(1)?.parse().ok())
        .collect();
    let in_syslog = || -> BTreeSet<u64> {
        rsyslog
            .fields()
            .lines()
            .filter_map(|l| l.rsplit('|').next()?.trim().strip_prefix("tick ")?.parse().ok())
            .collect()
    };
    let last = in_file.last().copied().unwrap_or(0);
    assert!(
        wait_until(PATIENCE, || in_syslog().contains(&last)),
        "the last tick never reached rsyslog"
    );
    let in_syslog = in_syslog();
    assert!(
        in_syslog.is_subset(&in_file),
        "a tick in rsyslog but not in the file"
    );
    let file_only = in_file.len() - in_syslog.len();
    // Ticks are numbered from 1: the last one's number is how many were logged.
    assert_eq!(in_file.len() as u64, last, "a tick is missing from the file");
    fault_common::record(
        "rsyslog stopped (socket removed) and restarted mid-run",
        2,
        last,
        in_file.len() as u64,
        &format!(
            "1 warning, file went on, sending resumed by itself; {} tick lines in rsyslog, {file_only} logged while it was gone are in the file only",
            in_syslog.len()
        ),
    );
}

#[test]
fn a_missing_syslog_socket_at_start_exits_78_naming_it() {
    let dir = TempDir::new("nosock");
    let sock = dir.path().join("no.sock");
    let mut child = daemon(dir.path(), &sock);
    let st = wait_exit(&mut child, PATIENCE);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert_eq!(st.code(), Some(78), "stderr: {err}");
    let want = format!(
        "syslog {:?} cannot be reached: No such file or directory (os error 2)",
        sock.display().to_string()
    );
    assert!(err.contains(&want), "stderr {err:?} lacks {want:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err:?}");
}

/// A syslog peer: a datagram socket bound at `dir/peer.sock` that reads only when asked.
fn peer(dir: &Path) -> (std::os::unix::net::UnixDatagram, PathBuf) {
    let path = dir.join("peer.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).expect("bind the peer");
    sock.set_nonblocking(true).expect("nonblocking");
    (sock, path)
}

/// Every datagram queued at the peer now.
fn drain(sock: &std::os::unix::net::UnixDatagram) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 512 * 1024];
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// The tick numbers of `tick <n>` lines in `text`.
fn tick_numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.split(" - INFO - tick ").nth(1)?.parse().ok())
        .collect()
}

#[test]
fn a_syslog_peer_that_stops_reading_costs_one_warning_and_never_blocks_the_ticks() {
    let dir = TempDir::new("syslog-full");
    let (sock, path) = peer(dir.path());
    let log = dir.path().join("logd.log");
    let mut child = simple_daemon_tests::Reap(daemon(dir.path(), &path));
    // The peer never reads: its queue fills after a few datagrams; the ticks must go on.
    assert!(
        wait_until(PATIENCE, || read(&log).contains("is full")),
        "no warning; the ticks stopped at {:?}:\n{}",
        tick_numbers(&read(&log)).last(),
        read(&log)
    );
    let warned_at = tick_numbers(&read(&log)).last().copied().unwrap_or(0);
    assert!(
        wait_until(PATIENCE, || tick_numbers(&read(&log))
            .last()
            .is_some_and(|&t| t > warned_at + 25)),
        "the ticks stopped after the warning"
    );
    // The peer reads once: sending resumes, with one line counting what was dropped.
    let first = drain(&sock);
    assert!(
        wait_until(PATIENCE, || read(&log).contains("takes datagrams again")),
        "no recovery line:\n{}",
        read(&log)
    );
    let dropped: u64 = read(&log)
        .lines()
        .find_map(|l| {
            l.split("takes datagrams again; ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("the count of dropped datagrams");
    // It stops reading again (a second episode), then a passive stop ends the daemon at once.
    assert!(wait_until(PATIENCE, || read(&log).matches("is full").count() >= 2));
    let asked = std::time::Instant::now();
    kill(child.0.id(), libc::SIGTERM);
    let st = wait_exit(&mut child.0, PATIENCE);
    let took = asked.elapsed();
    assert_eq!(st.code(), Some(0));
    assert!(took < std::time::Duration::from_secs(2), "the stop took {took:?}");
    let text = read(&log);
    // The episode still going at the end gets its last word before the seed's last line.
    assert!(text.contains("still full at exit"), "{text}");
    assert!(
        text.trim_end().ends_with(" - INFO - Graceful Interrupt..."),
        "the seed's line is not the last:\n{text}"
    );
    assert_eq!(text.matches(" - WARN - syslog socket").count(), 3, "{text}");
    let ticks = tick_numbers(&text);
    let last = ticks.last().copied().unwrap_or(0);
    assert_eq!(
        ticks,
        (1..=last).collect::<Vec<_>>(),
        "a tick line missing in the file"
    );
    let got = first.len() + drain(&sock).len();
    assert!(dropped > 0);
    eprintln!("peer full: {last} ticks in the file, stop took {took:?}, {dropped} datagrams dropped in the first episode, {got} received");
    fault_common::record(
        "syslog peer stops reading (its queue full), reads once, stops again; passive SIGTERM",
        2,
        last,
        ticks.len() as u64,
        &format!(
            "1 warning per episode, ticks went on, {dropped} datagrams dropped in the first episode (counted in the recovery line), stop took {} ms; every tick line in the file",
            took.as_millis()
        ),
    );
}

#[test]
fn a_long_record_is_one_datagram_of_at_most_8000_bytes_cut_on_a_character_with_a_marker() {
    let dir = TempDir::new("syslog-cut");
    let (sock, path) = peer(dir.path());
    let spec = dir.path().join("records");
    // 100 KB and 300 KB went whole and cut without a marker before; `€` is 3 bytes, and the
    // `a` prefixes put the cut at each place inside one.
    std::fs::write(&spec, "5000 100000 300000 300000::€ 300000:a:€ 300000:aa:€ 7900").expect("records");
    let tick = format!("records:{}", spec.display());
    let mut child = simple_daemon_tests::Reap(
        fault_common::fault_daemon(dir.path())
            .env("FD_SYSLOG", &path)
            .env("FD_TICK", &tick)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fault_daemon"),
    );
    let mut got = Vec::new();
    assert!(
        wait_until(PATIENCE, || {
            got.extend(drain(&sock));
            got.iter().any(|d| d.ends_with(b"records done"))
        }),
        "no `records done` datagram"
    );
    kill(child.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let recs: Vec<String> = got
        .iter()
        .filter(|d| d.windows(7).any(|w| w == b"]: rec "))
        .map(|d| {
            assert!(d.len() <= 8000, "a datagram of {} bytes", d.len());
            String::from_utf8(d.clone()).expect("a cut inside a character")
        })
        .collect();
    assert_eq!(recs.len(), 7, "one datagram per record");
    let marker = "...[truncated]";
    for (i, r) in recs.iter().enumerate() {
        let msg = r.split("]: ").nth(1).expect("message");
        assert!(msg.starts_with(&format!("rec {i} ")), "{msg:.40}");
        if [0, 6].contains(&i) {
            assert!(!r.ends_with(marker), "record {i} fits and was cut");
            assert!(msg.len() > 5000 && r.len() <= 8000, "record {i}: {}", r.len());
        } else {
            assert!(
                r.ends_with(marker),
                "record {i} without the marker: ...{}",
                &r[r.len() - 20..]
            );
            // Cut as late as a character allows.
            assert!(r.len() > 8000 - 3, "record {i} cut to {}", r.len());
        }
    }
    // The whole record is in the file.
    let file = read(&dir.path().join(format!("{}.log", fault_common::NAME)));
    assert!(
        file.lines().any(|l| l.len() > 300_000),
        "the file lost the long record"
    );
}

#[test]
fn rsyslog_keeps_a_cut_record_whole_with_its_marker() {
    let dir = TempDir::new("rsyslog-cut");
    let Some(rsyslog) = Rsyslog::start(dir.path()) else {
        return;
    };
    let logs = TempDir::new("rsyslog-cut-logs");
    let spec = logs.path().join("records");
    std::fs::write(&spec, "5000 100000 300000 300000:a:€").expect("records");
    let tick = format!("records:{}", spec.display());
    let mut child = simple_daemon_tests::Reap(
        fault_common::fault_daemon(logs.path())
            .env("FD_SYSLOG", rsyslog.socket())
            .env("FD_TICK", &tick)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fault_daemon"),
    );
    assert!(
        wait_until(PATIENCE, || rsyslog.fields().contains("records done")),
        "no `records done` in rsyslog"
    );
    kill(child.0.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, PATIENCE).code(), Some(0));
    let fields = rsyslog.fields();
    for i in 0..4 {
        let line = fields
            .lines()
            .find(|l| l.contains(&format!("|rec {i} ")) || l.contains(&format!("| rec {i} ")))
            .unwrap_or_else(|| panic!("no record {i} in rsyslog"));
        let cut = line.ends_with("...[truncated]");
        assert_eq!(
            cut,
            i > 0,
            "record {i}: ...{}",
            &line[line.len().saturating_sub(30)..]
        );
        // rsyslog took the whole datagram: the marker is there, nothing cut after it.
        assert!(line.len() < 8000, "record {i}: {} bytes", line.len());
    }
}
