//! The sd_notify protocol against a real peer, without systemd: a unix datagram socket with
//! `SO_PASSCRED`, bound at a temporary path (or an abstract name) given to a child daemon as
//! `NOTIFY_SOCKET`. Each datagram is read with `recvmsg(2)` together with the kernel-verified
//! sender pid (`SCM_CREDENTIALS`), so a message cannot come from anyone but the daemon.
//!
//! Every wait is bounded by [`PATIENCE`]; "nothing arrives" assertions wait a fixed, short time
//! that is many times the period at which the message would otherwise be sent. The order tests
//! drain the socket after the daemon exited and compare the WHOLE sequence it sent.
//!
//! The daemons: `sd_daemon` (the tick loop) and `rt_daemon` with `SD_FORM=guard` (the
//! hand-written loop, [`SimpleDaemon::start`](simple_daemon::SimpleDaemon::start)).

mod fault_common;

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_tests::{exit_within, kill, read, skip_or_fail, wait_exit, TempDir, AT_ONCE, PATIENCE};

/// One datagram and the pid the kernel says sent it.
#[derive(Debug, Clone)]
struct Msg {
    text: String,
    pid: Option<u32>,
    /// When the peer read it.
    at: Instant,
}

/// The notify-socket peer.
struct Peer {
    sock: UnixDatagram,
    /// What to put in `NOTIFY_SOCKET`.
    address: String,
    /// Everything received so far, in order.
    seen: Vec<Msg>,
}

impl Peer {
    /// Bind at `dir/notify.sock`, or at an abstract name when `abstract_name` is set.
    fn bind(dir: &Path, abstract_name: bool) -> Result<Peer, String> {
        let (sock, address) = if abstract_name {
            let name = format!("simple-daemon-test-{}-{}", std::process::id(), dir.display());
            let addr = {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| e.to_string())?
            };
            let s = UnixDatagram::bind_addr(&addr)
                .map_err(|e| format!("cannot bind the abstract notify socket @{name}: {e}"))?;
            (s, format!("@{name}"))
        } else {
            let path = dir.join("notify.sock");
            let s = UnixDatagram::bind(&path)
                .map_err(|e| format!("cannot bind the notify socket {}: {e}", path.display()))?;
            (s, path.display().to_string())
        };
        let one: libc::c_int = 1;
        // SAFETY: a valid socket fd and a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PASSCRED,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(format!(
                "cannot set SO_PASSCRED on the notify socket: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Peer {
            sock,
            address,
            seen: Vec::new(),
        })
    }

    /// The next datagram, or `None` after `timeout`.
    fn recv(&mut self, timeout: Duration) -> Option<Msg> {
        let fd = self.sock.as_raw_fd();
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return None;
        }
        let msg = recv_with_creds(fd)?;
        self.seen.push(msg.clone());
        Some(msg)
    }

    /// Receive until a datagram satisfies `pred`; panics after [`PATIENCE`] with what was seen.
    fn expect(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Msg {
        let end = Instant::now() + PATIENCE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.recv(left) {
                Some(m) if pred(&m.text) => return m,
                Some(_) => {}
                None => panic!("no {what} datagram within {PATIENCE:?}; seen: {:?}", self.seen),
            }
        }
    }

    /// Every datagram that arrives within `window`.
    fn drain(&mut self, window: Duration) -> Vec<Msg> {
        let end = Instant::now() + window;
        let mut got = Vec::new();
        while let Some(m) = self.recv(end.saturating_duration_since(Instant::now())) {
            got.push(m);
        }
        got
    }
}

/// `recvmsg(2)` one datagram with its `SCM_CREDENTIALS`; any passed fds are closed.
fn recv_with_creds(fd: RawFd) -> Option<Msg> {
    let mut buf = [0u8; 4096];
    // u64 for the alignment cmsghdr needs.
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control.as_mut_ptr().cast();
    hdr.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `hdr` points at live buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(fd, &mut hdr, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return None;
    }
    let mut pid = None;
    // SAFETY: the CMSG_* macros walk the control buffer recvmsg filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&hdr);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_CREDENTIALS {
                let cred: libc::ucred = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                pid = Some(cred.pid as u32);
            } else if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let len = h.cmsg_len as usize - (data as usize - c as usize);
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd: RawFd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    libc::close(fd);
                }
            }
            c = libc::CMSG_NXTHDR(&hdr, c);
        }
    }
    Some(Msg {
        text: String::from_utf8_lossy(&buf[..n as usize]).into_owned(),
        pid,
        at: Instant::now(),
    })
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    /// A test that fails before it stops its daemon leaks no process.
    fn drop(&mut self) {
        simple_daemon_tests::reap(&mut self.child);
    }
}

/// Start `sd_daemon` (through `sh -c 'exec ...'` when `shell` is set, so a shell can put the
/// daemon's own pid in the environment) with `NOTIFY_SOCKET` set to `notify` (or removed).
fn spawn(dir: &TempDir, notify: Option<&str>, envs: &[(&str, &str)], shell: Option<&str>) -> Daemon {
    let bin = env!("CARGO_BIN_EXE_sd_daemon");
    spawn_bin(bin, "SdDaemon", dir, notify, envs, shell)
}

/// Start `rt_daemon` in its guard form (`SD_FORM=guard`) under the notify socket `notify`.
fn spawn_guard(dir: &TempDir, notify: &str, envs: &[(&str, &str)]) -> Daemon {
    let bin = env!("CARGO_BIN_EXE_rt_daemon");
    let mut all = vec![("SD_FORM", "guard")];
    all.extend_from_slice(envs);
    spawn_bin(bin, "RtDaemon", dir, Some(notify), &all, None)
}

fn spawn_bin(
    bin: &str,
    name: &str,
    dir: &TempDir,
    notify: Option<&str>,
    envs: &[(&str, &str)],
    shell: Option<&str>,
) -> Daemon {
    let mut cmd = match shell {
        Some(script) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script).arg("sh").arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.env("SD_LOG_DIR", dir.path())
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match notify {
        Some(n) => cmd.env("NOTIFY_SOCKET", n),
        None => cmd.env_remove("NOTIFY_SOCKET"),
    };
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    Daemon {
        child,
        log: dir.path().join(format!("{name}.log")),
    }
}

fn setup(tag: &str, abstract_name: bool) -> Option<(TempDir, Peer)> {
    let dir = TempDir::new(tag);
    match Peer::bind(dir.path(), abstract_name) {
        Ok(p) => Some((dir, p)),
        Err(reason) => {
            skip_or_fail(&reason);
            None
        }
    }
}

fn assert_from(m: &Msg, pid: u32) {
    assert_eq!(
        m.pid,
        Some(pid),
        "datagram {:?} was not sent by the daemon (pid {pid}) but by {:?}",
        m.text,
        m.pid
    );
}

/// A daemon under the peer, past `READY=1` and inside its first tick, then sent SIGTERM; returns
/// once `STOPPING=1` (checked to come from the daemon) has arrived.
/// Start a daemon, wait for its first tick, send SIGTERM and wait for `STOPPING=1`; the last
/// item is when the signal was sent.
fn stopping_in_first_tick(tag: &str, envs: &[(&str, &str)]) -> Option<(TempDir, Peer, Daemon, Instant)> {
    let (dir, mut peer) = setup(tag, false)?;
    let d = spawn(&dir, Some(&peer.address), envs, None);
    let pid = d.child.id();
    peer.expect("READY=1", |t| t == "READY=1");
    assert!(simple_daemon_tests::wait_for_line(
        &d.log,
        "tick 1 start",
        PATIENCE
    ));
    let sent = Instant::now();
    kill(pid, libc::SIGTERM);
    let stopping = peer.expect("STOPPING=1", |t| t == "STOPPING=1");
    assert_from(&stopping, pid);
    Some((dir, peer, d, sent))
}

#[test]
fn ready_status_watchdog_reload_stopping_in_order_from_the_daemon() {
    let Some((dir, mut peer)) = setup("notify-main", false) else {
        return;
    };
    let mut d = spawn(
        &dir,
        Some(&peer.address),
        &[
            ("SD_INTERVAL_MS", "100"),
            ("SD_NEW_MS", "300"),
            ("SD_STATUS", "serving"),
            ("SD_SHOW_ENV", "1"),
            ("WATCHDOG_USEC", "400000"),
        ],
        None,
    );
    let pid = d.child.id();

    // READY=1 only once the start lines are logged and the state is built.
    let ready = peer.expect("READY=1", |t| t == "READY=1");
    assert_from(&ready, pid);
    let log = read(&d.log);
    for line in ["PID: ", "Mode: PASSIVE", "building state", "state built"] {
        assert!(log.contains(line), "READY=1 came before {line:?}:\n{log}");
    }
    assert_eq!(peer.seen.len(), 1, "sent before READY=1: {:?}", peer.seen);

    let status = peer.expect("STATUS=", |t| t.starts_with("STATUS="));
    assert_from(&status, pid);
    assert!(status.text.starts_with("STATUS=tick ") && status.text.ends_with(": serving"));

    // WATCHDOG_USEC=400000: pings at most every 200 ms, and some within a second.
    let window = peer.drain(Duration::from_millis(1000));
    let pings: Vec<_> = window.iter().filter(|m| m.text == "WATCHDOG=1").collect();
    assert!(
        (2..=7).contains(&pings.len()),
        "expected 2..=7 WATCHDOG=1 in 1 s at half of 400 ms; got {}: {window:?}",
        pings.len()
    );
    for m in &window {
        assert_from(m, pid);
    }

    // SIGHUP: RELOADING=1 and MONOTONIC_USEC in ONE datagram, on_reload, then READY=1.
    let before = monotonic_usec();
    kill(pid, libc::SIGHUP);
    let reloading = peer.expect("RELOADING=1", |t| t.starts_with("RELOADING=1"));
    let after = monotonic_usec();
    assert_from(&reloading, pid);
    let mut lines = reloading.text.lines();
    assert_eq!(lines.next(), Some("RELOADING=1"));
    let usec: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC= in the RELOADING=1 datagram: {reloading:?}"));
    assert!(
        before <= usec && usec <= after,
        "MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC between {before} and {after}"
    );
    let ready_again = peer.expect("READY=1 after the reload", |t| t == "READY=1");
    assert_from(&ready_again, pid);
    assert!(
        read(&d.log).contains("on_reload ran"),
        "READY=1 came before on_reload ran:\n{}",
        read(&d.log)
    );

    // SIGTERM: STOPPING=1, exit 0.
    kill(pid, libc::SIGTERM);
    let stopping = peer.expect("STOPPING=1", |t| t == "STOPPING=1");
    assert_from(&stopping, pid);
    let st = wait_exit(&mut d.child, PATIENCE);
    assert_eq!(st.code(), Some(0), "log:\n{}", read(&d.log));

    // The variable is never unset: the daemon's own environment still has it at every tick.
    let log = read(&d.log);
    assert!(!log.contains("NOTIFY_SOCKET unset"), "{log}");
    assert!(log.contains(&format!("NOTIFY_SOCKET={}", peer.address)), "{log}");
    eprintln!(
        "datagrams seen: {:?}",
        peer.seen.iter().map(|m| m.text.as_str()).collect::<Vec<_>>()
    );
}

#[test]
fn watchdog_pid_naming_another_process_turns_pings_off() {
    let Some((dir, mut peer)) = setup("notify-wdpid", false) else {
        return;
    };
    // WATCHDOG_PID=1 is not the daemon: no pings, though WATCHDOG_USEC asks for one every 50 ms.
    let mut d = spawn(
        &dir,
        Some(&peer.address),
        &[
            ("SD_INTERVAL_MS", "20"),
            ("WATCHDOG_USEC", "100000"),
            ("WATCHDOG_PID", "1"),
        ],
        None,
    );
    peer.expect("READY=1", |t| t == "READY=1");
    let window = peer.drain(Duration::from_millis(600));
    assert!(
        window.iter().all(|m| m.text != "WATCHDOG=1"),
        "WATCHDOG=1 sent although WATCHDOG_PID names another process: {window:?}"
    );
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn watchdog_pid_naming_the_daemon_keeps_pings_on() {
    let Some((dir, mut peer)) = setup("notify-wdself", false) else {
        return;
    };
    // `exec` keeps the shell's pid, so $$ is the daemon's own pid.
    let mut d = spawn(
        &dir,
        Some(&peer.address),
        &[("SD_INTERVAL_MS", "20"), ("WATCHDOG_USEC", "100000")],
        Some("WATCHDOG_PID=$$ exec \"$1\""),
    );
    let pid = d.child.id();
    peer.expect("READY=1", |t| t == "READY=1");
    let ping = peer.expect("WATCHDOG=1", |t| t == "WATCHDOG=1");
    assert_from(&ping, pid);
    kill(pid, libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn a_passive_stop_waiting_for_a_long_tick_extends_the_timeout() {
    let envs = [("SD_TICK", "sleep:1500"), ("SD_STOP_TIMEOUT_MS", "30000")];
    let Some((_dir, mut peer, mut d, _)) = stopping_in_first_tick("notify-extend", &envs) else {
        return;
    };
    let pid = d.child.id();
    let extend = peer.expect("EXTEND_TIMEOUT_USEC=", |t| t.starts_with("EXTEND_TIMEOUT_USEC="));
    assert_from(&extend, pid);
    let usec: u64 = extend.text["EXTEND_TIMEOUT_USEC=".len()..]
        .parse()
        .expect("EXTEND_TIMEOUT_USEC is a number");
    assert!(usec >= 2_000_000, "extends by too little: {usec} µs");
    assert!(usec <= 10_500_000, "extends past one step: {usec} µs");
    // It came while the tick was still running: the tick ends after it, then the passive end.
    assert!(
        !read(&d.log).contains("tick 1 end"),
        "EXTEND_TIMEOUT_USEC came only after the tick ended:\n{}",
        read(&d.log)
    );
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
    let log = read(&d.log);
    for line in ["tick 1 end", "on_stop ran", "Graceful Interrupt..."] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }
}

#[test]
fn without_stop_timeout_a_passive_stop_does_not_extend_the_timeout() {
    // Extending without a bound of our own would take away the unit's TimeoutStopSec=, the
    // operator's only bound on a tick that never returns.
    let Some((_dir, mut peer, mut d, _)) =
        stopping_in_first_tick("notify-no-extend", &[("SD_TICK", "sleep:1500")])
    else {
        return;
    };
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
    let rest = peer.drain(Duration::from_millis(200));
    assert!(
        rest.iter().all(|m| !m.text.contains("EXTEND_TIMEOUT_USEC")),
        "extended without stop_timeout: {:?}",
        rest.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
    assert!(read(&d.log).contains("tick 1 end"));
}

#[test]
fn an_aggressive_stop_says_stopping_and_exits_at_once() {
    let envs = [("SD_MODE", "aggressive"), ("SD_TICK", "sleep:60000")];
    let Some((_dir, _peer, mut d, sent)) = stopping_in_first_tick("notify-aggr", &envs) else {
        return;
    };
    assert_eq!(exit_within(&mut d.child, sent, AT_ONCE).code(), Some(0));
}

#[test]
fn an_abstract_notify_socket_is_reached() {
    let Some((dir, mut peer)) = setup("notify-abstract", true) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_INTERVAL_MS", "100")], None);
    let ready = peer.expect("READY=1", |t| t == "READY=1");
    assert_from(&ready, d.child.id());
    kill(d.child.id(), libc::SIGTERM);
    peer.expect("STOPPING=1", |t| t == "STOPPING=1");
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn without_notify_socket_nothing_breaks() {
    let dir = TempDir::new("notify-none");
    let mut d = spawn(
        &dir,
        None,
        &[
            ("SD_INTERVAL_MS", "50"),
            ("SD_STATUS", "serving"),
            ("SD_SHOW_ENV", "1"),
            ("WATCHDOG_USEC", "100000"),
        ],
        None,
    );
    assert!(simple_daemon_tests::wait_for_line(&d.log, "tick 2 end", PATIENCE));
    kill(d.child.id(), libc::SIGHUP);
    assert!(simple_daemon_tests::wait_for_line(
        &d.log,
        "on_reload ran",
        PATIENCE
    ));
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
    let log = read(&d.log);
    assert!(log.contains("NOTIFY_SOCKET unset"), "{log}");
    assert!(log.contains("Graceful Interrupt..."), "{log}");
    assert!(!log.contains("WARN"), "a warning without a notify socket:\n{log}");
}

#[test]
fn a_malformed_notify_socket_is_a_warning_not_a_failure() {
    let dir = TempDir::new("notify-bad");
    let mut d = spawn(
        &dir,
        Some("relative/notify.sock"),
        &[("SD_INTERVAL_MS", "50")],
        None,
    );
    assert!(simple_daemon_tests::wait_for_line(&d.log, "tick 1 end", PATIENCE));
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
    let log = read(&d.log);
    assert!(
        log.contains("cannot use NOTIFY_SOCKET \"relative/notify.sock\""),
        "no warning naming the variable:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// The whole sequence, in order: what systemd is told must be true at every step.

const READY: &str = "READY=1";
const STOPPING: &str = "STOPPING=1";
/// A `RELOADING=1` datagram with its `MONOTONIC_USEC=` (the value replaced, see [`normalise`]).
const RELOADING: &str = "RELOADING=1\nMONOTONIC_USEC=<t>";

/// `text` with the value of a well-formed `MONOTONIC_USEC=` replaced by `<t>`, so sequences
/// compare; anything else is left as it is (and then fails the comparison).
fn normalise(text: &str) -> String {
    match text.strip_prefix("RELOADING=1\nMONOTONIC_USEC=") {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => RELOADING.to_owned(),
        _ => text.to_owned(),
    }
}

/// Wait for the daemon's exit (status 0), then drain the socket and compare EVERY datagram the
/// daemon sent, from its first, with `expected`.
fn assert_sequence(case: &str, peer: &mut Peer, d: &mut Daemon, expected: &[&str]) {
    let pid = d.child.id();
    let st = wait_exit(&mut d.child, PATIENCE);
    assert_eq!(st.code(), Some(0), "{case}: exit {st:?}, log:\n{}", read(&d.log));
    // The daemon is gone: whatever it sent is in the socket's queue already.
    peer.drain(Duration::from_millis(200));
    for m in &peer.seen {
        assert_from(m, pid);
    }
    let got: Vec<String> = peer.seen.iter().map(|m| normalise(&m.text)).collect();
    assert_eq!(
        got,
        expected,
        "{case}: the daemon told systemd {got:?}, expected {expected:?}; log:\n{}",
        read(&d.log)
    );
    eprintln!("{case}: {got:?}");
}

fn wait_line(d: &Daemon, needle: &str) {
    assert!(
        simple_daemon_tests::wait_for_line(&d.log, needle, PATIENCE),
        "no {needle:?} in:\n{}",
        read(&d.log)
    );
}

#[test]
fn sequence_of_a_passive_stop_says_stopping_once() {
    let Some((dir, mut peer)) = setup("seq-passive", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_TICK", "sleep:500")], None);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("sync passive stop", &mut peer, &mut d, &[READY, STOPPING]);
    assert!(read(&d.log).contains("on_stop ran"));
}

#[test]
fn sequence_of_an_aggressive_stop_says_stopping_once() {
    let Some((dir, mut peer)) = setup("seq-aggressive", false) else {
        return;
    };
    let envs = [("SD_MODE", "aggressive"), ("SD_TICK", "sleep:60000")];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("sync aggressive stop", &mut peer, &mut d, &[READY, STOPPING]);
}

#[test]
fn sequence_of_a_sighup_during_a_passive_stop_acknowledges_no_reload() {
    let Some((dir, mut peer)) = setup("seq-stop-hup", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_TICK", "sleep:1500")], None);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    wait_line(&d, "Received 15 signal.");
    kill(d.child.id(), libc::SIGHUP);
    wait_line(&d, "Received 1 signal.");
    assert_sequence("sync SIGTERM then SIGHUP", &mut peer, &mut d, &[READY, STOPPING]);
    assert!(!read(&d.log).contains("on_reload ran"));
}

#[test]
fn sequence_of_a_reload_then_a_stop() {
    let Some((dir, mut peer)) = setup("seq-reload-stop", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_INTERVAL_MS", "100")], None);
    peer.expect("READY=1", |t| t == READY);
    wait_line(&d, "tick 1 end");
    kill(d.child.id(), libc::SIGHUP);
    peer.expect("READY=1 after the reload", |t| t == READY);
    kill(d.child.id(), libc::SIGTERM);
    let expected = [READY, RELOADING, READY, STOPPING];
    assert_sequence("sync reload then stop", &mut peer, &mut d, &expected);
}

/// A stop while `new` still builds the state: the daemon never became ready, so systemd hears
/// `STOPPING=1` alone, never a `READY=1` after it (`on_stop` still runs: a passive stop).
#[test]
fn sequence_of_a_stop_during_start_up_says_stopping_and_never_ready() {
    let Some((dir, mut peer)) = setup("seq-stop-in-new", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_NEW_MS", "1500")], None);
    wait_line(&d, "building state");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("SIGTERM during new", &mut peer, &mut d, &[STOPPING]);
    let log = read(&d.log);
    assert!(
        log.contains("state built") && log.contains("on_stop ran"),
        "log:\n{log}"
    );
}

/// A SIGHUP while `new` still builds the state: systemd hears no `RELOADING=1` before the
/// first `READY=1` (nor a second `READY=1`); the reload itself runs before the first tick.
#[test]
fn sequence_of_a_sighup_during_start_up_is_no_reload_systemd_hears_of() {
    let Some((dir, mut peer)) = setup("seq-hup-in-new", false) else {
        return;
    };
    let mut d = spawn(
        &dir,
        Some(&peer.address),
        &[("SD_NEW_MS", "1000"), ("SD_INTERVAL_MS", "100")],
        None,
    );
    wait_line(&d, "building state");
    kill(d.child.id(), libc::SIGHUP);
    wait_line(&d, "tick 2 end");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("SIGHUP during new", &mut peer, &mut d, &[READY, STOPPING]);
    let log = read(&d.log);
    let reloaded = log.find("Reloaded").expect("on_reload ran");
    let tick = log.find("tick 1 start").expect("a tick ran");
    assert!(
        reloaded < tick,
        "on_reload runs before the first tick; log:\n{log}"
    );
}

#[test]
fn sequence_of_a_guard_passive_stop_says_stopping_once() {
    let Some((dir, mut peer)) = setup("seq-guard-passive", false) else {
        return;
    };
    let envs = [("SD_TICK", "sleep:1500"), ("SD_INTERVAL_MS", "100")];
    let mut d = spawn_guard(&dir, &peer.address, &envs);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("guard passive stop", &mut peer, &mut d, &[READY, STOPPING]);
}

#[test]
fn sequence_of_a_guard_aggressive_stop_says_stopping_once() {
    let Some((dir, mut peer)) = setup("seq-guard-aggressive", false) else {
        return;
    };
    let envs = [("SD_MODE", "aggressive"), ("SD_TICK", "block")];
    let mut d = spawn_guard(&dir, &peer.address, &envs);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    assert_sequence("guard aggressive stop", &mut peer, &mut d, &[READY, STOPPING]);
}

/// Issue 16's reproduction: SIGTERM during 1.5 s of work, SIGHUP 0.2 s later. It told systemd
/// `READY=1, STOPPING=1, RELOADING=1, MONOTONIC_USEC=..., READY=1, STOPPING=1`: ready again
/// while it was stopping.
#[test]
fn sequence_of_a_guard_sighup_during_a_stop_acknowledges_no_reload() {
    let Some((dir, mut peer)) = setup("seq-guard-stop-hup", false) else {
        return;
    };
    let envs = [("SD_TICK", "sleep:1500"), ("SD_INTERVAL_MS", "100")];
    let mut d = spawn_guard(&dir, &peer.address, &envs);
    wait_line(&d, "tick 1 start");
    kill(d.child.id(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    kill(d.child.id(), libc::SIGHUP);
    wait_line(&d, "Received 1 signal.");
    let case = "guard SIGTERM then SIGHUP";
    assert_sequence(case, &mut peer, &mut d, &[READY, STOPPING]);
    let got: Vec<String> = peer.seen.iter().map(|m| normalise(&m.text)).collect();
    fault_common::record_asserted(
        "guard: SIGHUP 0.2 s after SIGTERM, during 1.5 s of work",
        2,
        None,
        "the whole notify sequence",
        &format!(
            "no lines counted; notify sequence asserted whole: {}",
            got.join(", ").replace('\n', " ")
        ),
    );
}

#[test]
fn sequence_of_a_guard_reload_then_a_stop() {
    let Some((dir, mut peer)) = setup("seq-guard-reload", false) else {
        return;
    };
    let mut d = spawn_guard(&dir, &peer.address, &[("SD_INTERVAL_MS", "60000")]);
    peer.expect("READY=1", |t| t == READY);
    wait_line(&d, "tick 1 end");
    kill(d.child.id(), libc::SIGHUP);
    peer.expect("READY=1 after the reload", |t| t == READY);
    kill(d.child.id(), libc::SIGTERM);
    let expected = [READY, RELOADING, READY, STOPPING];
    assert_sequence("guard reload then stop", &mut peer, &mut d, &expected);
}

// ---------------------------------------------------------------------------------------------
// Reload timing: RELOADING=1 when the SIGHUP arrives, READY=1 once on_reload ran.

/// Issue 10 #7: a 3 s tick, SIGHUP 0.5 s into it. `RELOADING=1` came at the tick's end (3.0 s),
/// so `systemctl reload` could return before `on_reload` ran.
#[test]
fn reloading_is_sent_when_the_sighup_arrives_not_when_the_tick_ends() {
    let Some((dir, mut peer)) = setup("reload-at-once", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_TICK", "sleep:3000")], None);
    let pid = d.child.id();
    peer.expect("READY=1", |t| t == READY);
    wait_line(&d, "tick 1 start");
    std::thread::sleep(Duration::from_millis(500));
    let before = monotonic_usec();
    let sent = Instant::now();
    kill(pid, libc::SIGHUP);
    let reloading = peer.expect("RELOADING=1", |t| t.starts_with("RELOADING=1"));
    let reloading_after = reloading.at - sent;
    assert_from(&reloading, pid);
    assert_eq!(normalise(&reloading.text), RELOADING);
    let usec: u64 = reloading.text["RELOADING=1\nMONOTONIC_USEC=".len()..]
        .parse()
        .expect("a number");
    assert!(
        usec >= before,
        "MONOTONIC_USEC={usec} is older than the SIGHUP ({before})"
    );
    let log = read(&d.log);
    assert!(
        !log.contains("tick 1 end") && !log.contains("on_reload ran"),
        "RELOADING=1 came only after the tick or the reload ({reloading_after:?} after SIGHUP):\n{log}"
    );
    // The tick has about 2.5 s left: RELOADING=1 must not wait for it.
    assert!(
        reloading_after < Duration::from_millis(1000),
        "RELOADING=1 arrived {reloading_after:?} after the SIGHUP, in a tick with ~2.5 s left"
    );
    let ready = peer.expect("READY=1 after the reload", |t| t == READY);
    let ready_after = ready.at - sent;
    let log = read(&d.log);
    let tick_end = simple_daemon_tests::position(&log, "tick 1 end");
    let reloaded = simple_daemon_tests::position(&log, "on_reload ran");
    assert!(
        tick_end.is_some() && reloaded.is_some() && tick_end < reloaded,
        "READY=1 came before the tick ended and on_reload ran:\n{log}"
    );
    kill(pid, libc::SIGTERM);
    let expected = [READY, RELOADING, READY, STOPPING];
    assert_sequence("reload during a 3 s tick", &mut peer, &mut d, &expected);
    fault_common::record_asserted(
        "SIGHUP 0.5 s into a 3 s tick: RELOADING=1 delay",
        1,
        None,
        "the notify sequence and its timing",
        &format!(
            "no lines counted; RELOADING=1 {:.1} ms after SIGHUP, READY=1 {:.1} ms (after on_reload)",
            reloading_after.as_secs_f64() * 1000.0,
            ready_after.as_secs_f64() * 1000.0
        ),
    );
}

/// Issue 16 mutation 3: `READY=1` before `on_reload` ran passed, because `on_reload` logged at
/// once. Here it works 1 s, then logs `on_reload ran`.
#[test]
fn ready_after_a_slow_on_reload_comes_once_it_ran() {
    let Some((dir, mut peer)) = setup("reload-slow", false) else {
        return;
    };
    let envs = [("SD_INTERVAL_MS", "100"), ("SD_RELOAD_MS", "1000")];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    let pid = d.child.id();
    peer.expect("READY=1", |t| t == READY);
    wait_line(&d, "tick 1 end");
    kill(pid, libc::SIGHUP);
    let reloading = peer.expect("RELOADING=1", |t| t.starts_with("RELOADING=1"));
    let ready = peer.expect("READY=1 after the reload", |t| t == READY);
    let log = read(&d.log);
    assert!(
        log.contains("on_reload ran"),
        "READY=1 arrived before on_reload's work ended ({:?} after RELOADING=1):\n{log}",
        ready.at - reloading.at
    );
    assert!(
        ready.at - reloading.at >= Duration::from_millis(900),
        "READY=1 only {:?} after RELOADING=1, around a reload of 1 s",
        ready.at - reloading.at
    );
    kill(pid, libc::SIGTERM);
    let expected = [READY, RELOADING, READY, STOPPING];
    assert_sequence("slow reload then stop", &mut peer, &mut d, &expected);
}

// ---------------------------------------------------------------------------------------------
// The watchdog: the longest silence, not the average rate, is what systemd kills for.

/// Over 3.5 s after the first ping, under `WATCHDOG_USEC=1s`: every gap between two pings is
/// below 0.75 s (pings are due every half period; the loop pings between ticks, so a ping due
/// during a tick comes at its end), and there are not more than one per half period.
fn assert_ping_gaps(case: &str, peer: &mut Peer, pid: u32) {
    let first = peer.expect("WATCHDOG=1", |t| t == "WATCHDOG=1");
    let window = peer.drain(Duration::from_millis(3500));
    let mut at = vec![first.at];
    for m in window.iter().filter(|m| m.text == "WATCHDOG=1") {
        assert_from(m, pid);
        at.push(m.at);
    }
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    let longest = gaps.iter().max().copied().unwrap_or(Duration::MAX);
    eprintln!(
        "{case}: {} pings, longest gap {longest:?}, gaps {gaps:?}",
        at.len()
    );
    assert!(
        longest < Duration::from_millis(750),
        "{case}: a gap of {longest:?} between WATCHDOG=1 pings under WATCHDOG_USEC=1s \
         (due every 500 ms); gaps: {gaps:?}"
    );
    assert!(
        (5..=9).contains(&at.len()),
        "{case}: {} pings in 3.5 s, at one per 500 to 750 ms; gaps: {gaps:?}",
        at.len()
    );
}

#[test]
fn watchdog_pings_every_half_period_while_the_loop_sleeps() {
    let Some((dir, mut peer)) = setup("wd-sleep", false) else {
        return;
    };
    let envs = [("SD_INTERVAL_MS", "2000"), ("WATCHDOG_USEC", "1000000")];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    assert_ping_gaps("tick loop, 2 s sleeps", &mut peer, d.child.id());
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn watchdog_pings_every_half_period_between_back_to_back_ticks() {
    let Some((dir, mut peer)) = setup("wd-ticks", false) else {
        return;
    };
    let envs = [("SD_TICK", "sleep:100"), ("WATCHDOG_USEC", "1000000")];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    assert_ping_gaps("tick loop, 100 ms ticks back to back", &mut peer, d.child.id());
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn watchdog_pings_every_half_period_between_ticks_and_sleeps() {
    let Some((dir, mut peer)) = setup("wd-mixed", false) else {
        return;
    };
    let envs = [
        ("SD_TICK", "sleep:200"),
        ("SD_INTERVAL_MS", "600"),
        ("WATCHDOG_USEC", "1000000"),
    ];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    assert_ping_gaps("tick loop, 200 ms ticks every 600 ms", &mut peer, d.child.id());
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn watchdog_pings_every_half_period_in_the_guards_sleep() {
    let Some((dir, mut peer)) = setup("wd-guard", false) else {
        return;
    };
    let envs = [("SD_INTERVAL_MS", "60000"), ("WATCHDOG_USEC", "1000000")];
    let mut d = spawn_guard(&dir, &peer.address, &envs);
    assert_ping_gaps("guard, one 60 s sleep", &mut peer, d.child.id());
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// What a tick can tell: it is alive (`Context::keep_alive`), the daemon should stop
// (`Context::stop`); and what the guard can ask: is a reload pending (`Running::reload_requested`).

/// Issue 10: a long legitimate tick under `WatchdogSec=` was killed. Ticks of 3 s back to back
/// that call `keep_alive` every 50 ms keep the pings at the half period (not one per call).
#[test]
fn keep_alive_feeds_the_watchdog_during_a_long_tick() {
    let Some((dir, mut peer)) = setup("keep-alive", false) else {
        return;
    };
    let envs = [("SD_TICK", "keepalive:3000"), ("WATCHDOG_USEC", "1000000")];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    wait_line(&d, "tick 1 start");
    assert_ping_gaps("3 s ticks calling keep_alive", &mut peer, d.child.id());
    let log = read(&d.log);
    assert!(
        !log.contains("tick 3 start"),
        "the window was not inside the two first (3 s) ticks:\n{log}"
    );
    kill(d.child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut d.child, PATIENCE).code(), Some(0));
}

#[test]
fn keep_alive_without_watchdog_usec_sends_nothing() {
    let Some((dir, mut peer)) = setup("keep-alive-off", false) else {
        return;
    };
    let mut d = spawn(&dir, Some(&peer.address), &[("SD_TICK", "keepalive:1000")], None);
    wait_line(&d, "tick 1 end");
    kill(d.child.id(), libc::SIGTERM);
    wait_exit(&mut d.child, PATIENCE);
    peer.drain(Duration::from_millis(200));
    let pings = peer.seen.iter().filter(|m| m.text == "WATCHDOG=1").count();
    assert_eq!(pings, 0, "WATCHDOG=1 without WATCHDOG_USEC: {:?}", peer.seen);
}

/// `Context::stop` from tick 2: a passive stop in either mode, the tick ends, no tick 3,
/// `on_stop`, `Graceful Interrupt...`, exit 0, `STOPPING=1` once.
fn stop_from_a_tick(mode: &str) {
    let Some((dir, mut peer)) = setup(&format!("ctx-stop-{mode}"), false) else {
        return;
    };
    let envs = [
        ("SD_TICK", "stop:2"),
        ("SD_INTERVAL_MS", "100"),
        ("SD_MODE", mode),
    ];
    let mut d = spawn(&dir, Some(&peer.address), &envs, None);
    assert_sequence(
        &format!("Context::stop ({mode})"),
        &mut peer,
        &mut d,
        &[READY, STOPPING],
    );
    let log = read(&d.log);
    let order = [
        "tick 2 start",
        "Stop requested by the daemon.",
        "tick 2 end",
        "on_stop ran",
        "Graceful Interrupt...",
    ];
    let at: Vec<_> = order
        .iter()
        .map(|l| simple_daemon_tests::position(&log, l))
        .collect();
    assert!(
        at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
        "expected {order:?} in this order:\n{log}"
    );
    assert!(!log.contains("tick 3 start"), "a tick after the stop:\n{log}");
    assert_eq!(log.matches("Graceful Interrupt...").count(), 1, "{log}");
}

#[test]
fn context_stop_from_a_tick_is_a_passive_stop() {
    stop_from_a_tick("passive");
}

#[test]
fn context_stop_from_a_tick_is_a_passive_stop_in_aggressive_mode_too() {
    stop_from_a_tick("aggressive");
}

/// Issue 10: the guard could not see a SIGHUP. A guard that asks `reload_requested` in its loop,
/// asleep for 60 s: `RELOADING=1` at the SIGHUP, its sleep cut short, the reload taken once
/// (500 ms of work), `READY=1` only once it was taken (at the loop's next call after it).
#[test]
fn a_guard_that_asks_takes_each_reload_once_and_is_ready_after_it() {
    let Some((dir, mut peer)) = setup("guard-reload", false) else {
        return;
    };
    let envs = [
        ("SD_INTERVAL_MS", "60000"),
        ("SD_GUARD_RELOAD", "1"),
        ("SD_RELOAD_MS", "500"),
    ];
    let mut d = spawn_guard(&dir, &peer.address, &envs);
    let pid = d.child.id();
    peer.expect("READY=1", |t| t == READY);
    wait_line(&d, "tick 1 end");
    for round in 1..=2 {
        let sent = Instant::now();
        kill(pid, libc::SIGHUP);
        let reloading = peer.expect("RELOADING=1", |t| t.starts_with("RELOADING=1"));
        assert!(
            reloading.at - sent < Duration::from_millis(1000),
            "RELOADING=1 {:?} after the SIGHUP",
            reloading.at - sent
        );
        let ready = peer.expect("READY=1 after the reload", |t| t == READY);
        let log = read(&d.log);
        assert_eq!(
            log.matches("reload taken").count(),
            round,
            "READY=1 before the reload was taken, or taken twice:\n{log}"
        );
        assert!(
            ready.at - reloading.at >= Duration::from_millis(450),
            "READY=1 {:?} after RELOADING=1, around 500 ms of reload work",
            ready.at - reloading.at
        );
        // The guard took it from a 60 s sleep: the loop ran again at once.
        wait_line(&d, &format!("tick {} end", round + 1));
    }
    kill(pid, libc::SIGTERM);
    let expected = [READY, RELOADING, READY, RELOADING, READY, STOPPING];
    assert_sequence("guard asking reload_requested", &mut peer, &mut d, &expected);
    assert_eq!(read(&d.log).matches("reload taken").count(), 2);
}

#[test]
fn status_from_an_async_tick_reaches_the_peer() {
    let Some((dir, mut peer)) = setup("notify-async-status", false) else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_async_daemon");
    let envs = [("SD_TICK", "status"), ("SD_INTERVAL_MS", "100")];
    let mut d = spawn_bin(bin, "AsyncDaemon", &dir, Some(&peer.address), &envs, None);
    let pid = d.child.id();
    let ready = peer.expect("READY=1", |t| t == "READY=1");
    assert_from(&ready, pid);
    // `ctx.status` from inside the tick future, then again from the next tick.
    for n in 1..=2 {
        let status = peer.expect("STATUS=polled", |t| t.starts_with("STATUS=polled"));
        assert_from(&status, pid);
        assert_eq!(status.text, format!("STATUS=polled {n}"));
    }
    kill(pid, libc::SIGTERM);
    let stopping = peer.expect("STOPPING=1", |t| t == "STOPPING=1");
    assert_from(&stopping, pid);
    let status = exit_within(&mut d.child, Instant::now(), AT_ONCE);
    assert_eq!(status.code(), Some(0), "{}", read(&d.log));
}
