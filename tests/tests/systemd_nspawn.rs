//! The daemons as units of a real systemd (PID 1, with journald) in systemd-nspawn, booted by the
//! test itself (the recipe of `E2E-PEERS.md`).
//!
//! The Debian root file system is built once with debootstrap, from the mirror apt already uses,
//! and cached in the target directory (`nspawn-rootfs/`, complete once its marker file exists);
//! later runs reuse it. The directory holding the built test binaries is bound read-only at the
//! same path inside, so the units `sd_daemon --print-systemd-unit` prints run as they are; a
//! drop-in per unit adds the test's environment. One boot serves every scenario.
//!
//! Without root, `systemd-nspawn` or (for the first run) `debootstrap` and the mirror, the test
//! is skipped with the reason, or fails with it when `SIMPLE_DAEMON_E2E=required`.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_tests::{skip_or_fail, wait_until, PATIENCE};

/// Written into the root file system once debootstrap succeeded and it was set up.
const MARKER: &str = ".simple-daemon-rootfs-complete";
/// What the root file system holds: systemd as PID 1, D-Bus for systemctl, and procps for
/// `/bin/kill` (the printed unit's `ExecReload=`; every regular Debian install has it, minbase
/// does not).
const INCLUDE: &str = "systemd,systemd-sysv,dbus,procps";
/// The units this test installs (removed again at the end).
const UNITS: [&str; 13] = [
    "sd-reload",
    "sd-journal",
    "sd-journal-burst",
    "sd-hardened",
    "sd-dynamic",
    "sd-config",
    "sd-passive",
    "sd-aggressive",
    "sd-slow",
    "sd-error",
    "sd-hang",
    "Heartbeat",
    "worker",
];

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sd_daemon"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf()
}

/// The cargo target directory (the parent of `debug/`).
fn target_dir() -> PathBuf {
    bin_dir().parent().map(Path::to_path_buf).unwrap_or_else(bin_dir)
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// The host's Debian codename (`bookworm`), so binaries built here run inside.
fn codename() -> String {
    fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "bookworm".to_owned())
}

/// The Debian mirror apt already uses for `suite` (one-line and deb822 sources), else Debian's.
fn apt_mirror(suite: &str) -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        if f.extension().is_some_and(|e| e == "sources") {
            for stanza in text.split("\n\n") {
                let field = |name: &str| {
                    stanza.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                };
                let is_deb = field("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb"));
                let has_suite = field("Suites").is_some_and(|s| s.split_whitespace().any(|s| s == suite));
                if let (true, true, Some(uris)) = (is_deb, has_suite, field("URIs")) {
                    if let Some(uri) = uris.split_whitespace().next() {
                        return uri.to_owned();
                    }
                }
            }
        } else {
            for line in text.lines() {
                let mut words = line.split_whitespace();
                if words.next() != Some("deb") {
                    continue;
                }
                let mut rest: Vec<&str> = words.collect();
                if rest.first().is_some_and(|w| w.starts_with('[')) {
                    let close = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
                    rest.drain(..=close);
                }
                if let [uri, s, ..] = rest[..] {
                    if s == suite {
                        return uri.to_owned();
                    }
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_owned()
}

/// An exclusive `flock` on a file next to the root file system, held for the whole test: one
/// debootstrap, one boot at a time per target directory.
struct Lock(#[allow(dead_code)] File);

fn lock(path: &Path) -> Result<Lock, String> {
    let f = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    // SAFETY: flock on a valid fd.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(Lock(f))
}

/// The cached root file system of the host's Debian release, built when missing or incomplete.
fn rootfs() -> Result<PathBuf, String> {
    rootfs_of(&codename(), "nspawn-rootfs")
}

/// The cached root file system of Debian `suite` in `target/<dir>`, built when missing or
/// incomplete.
fn rootfs_of(suite: &str, dir: &str) -> Result<PathBuf, String> {
    let root = target_dir().join(dir);
    if root.join(MARKER).exists() {
        eprintln!("nspawn: reusing the root file system {}", root.display());
        return Ok(root);
    }
    let debootstrap = which("debootstrap")
        .ok_or("debootstrap is not installed (apt-get install debootstrap; scripts/test-all does it)")?;
    if root.exists() {
        fs::remove_dir_all(&root)
            .map_err(|e| format!("cannot remove the incomplete {}: {e}", root.display()))?;
    }
    let mirror = apt_mirror(suite);
    let log = target_dir().join(format!("{dir}.debootstrap.log"));
    eprintln!(
        "nspawn: debootstrap --variant=minbase --include={INCLUDE} {suite} {} {mirror} (log: {})",
        root.display(),
        log.display()
    );
    let started = Instant::now();
    let out = File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let st = Command::new(debootstrap)
        .args(["--variant=minbase", &format!("--include={INCLUDE}"), suite])
        .arg(&root)
        .arg(&mirror)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run debootstrap: {e}"))?;
    if !st.success() {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<_> = text.lines().rev().take(5).collect();
        return Err(format!(
            "debootstrap of {suite} from {mirror} failed ({st}); last lines of {}: {:?}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>()
        ));
    }
    // The journal lives in memory: a cached root file system must not grow with every boot.
    let conf = root.join("etc/systemd/journald.conf.d");
    fs::create_dir_all(&conf).map_err(|e| e.to_string())?;
    fs::write(conf.join("volatile.conf"), "[Journal]\nStorage=volatile\n").map_err(|e| e.to_string())?;
    fs::write(root.join(MARKER), "debootstrap complete\n").map_err(|e| e.to_string())?;
    eprintln!("nspawn: debootstrap took {:.1?}", started.elapsed());
    Ok(root)
}

/// The cgroup directories nspawn is started in (its own, so its `payload`/`supervisor`
/// children neither collide with another container nor outlive the test).
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.join(name)];
    }
    ["systemd", "unified"]
        .iter()
        .map(|h| base.join(h))
        .filter(|h| h.join("cgroup.procs").exists())
        .map(|h| h.join(name))
        .collect()
}

/// Remove a cgroup tree, deepest first.
fn remove_cgroup(dir: &Path) {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = fs::read_dir(d) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
        out.push(d.to_path_buf());
    }
    for _ in 0..50 {
        let mut dirs = Vec::new();
        walk(dir, &mut dirs);
        for d in &dirs {
            let _ = fs::remove_dir(d);
        }
        if !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("nspawn: could not remove the cgroup {}", dir.display());
}

/// A booted container.
struct Machine {
    nspawn: Child,
    leader: u32,
    name: String,
    root: PathBuf,
    cgroups: Vec<PathBuf>,
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()
}

/// The container's PID 1 as seen from here: nspawn's child running systemd in another pid
/// namespace.
fn find_leader(nspawn: u32) -> Option<u32> {
    let own_ns = fs::read_link("/proc/self/ns/pid").ok()?;
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        (parent_of(pid) == Some(nspawn)
            && fs::read_link(format!("/proc/{pid}/ns/pid")).ok()? != own_ns
            && fs::read_to_string(format!("/proc/{pid}/comm")).ok()?.trim() == "systemd")
            .then_some(pid)
    })
}

impl Machine {
    fn boot(root: &Path) -> Result<Machine, String> {
        let nspawn_bin = which("systemd-nspawn").ok_or(
            "systemd-nspawn is not installed (apt-get install systemd-container; scripts/test-all does it)",
        )?;
        let name = format!("sd-test-{}", std::process::id());
        let cgroups = cgroup_dirs(&name);
        for c in &cgroups {
            fs::create_dir_all(c).map_err(|e| format!("cannot create the cgroup {}: {e}", c.display()))?;
        }
        let procs: Vec<String> = cgroups
            .iter()
            .map(|c| c.join("cgroup.procs").display().to_string())
            .collect();
        let log = target_dir().join("nspawn-boot.log");
        let out = File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let bins = bin_dir();
        let started = Instant::now();
        let nspawn = Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"for p in $SD_CGROUP_PROCS; do echo $$ > "$p" || exit 97; done; exec "$@""#)
            .arg("sh")
            .arg(nspawn_bin)
            .args(["-q", "-D"])
            .arg(root)
            .args(["-M", &name])
            .args([
                "--register=no",
                "--keep-unit",
                "--link-journal=no",
                "--private-network",
                "--console=passive",
            ])
            .arg(format!("--bind-ro={}:{}", bins.display(), bins.display()))
            .arg("-b")
            .env("SD_CGROUP_PROCS", procs.join(" "))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start systemd-nspawn: {e}"))?;
        let mut m = Machine {
            nspawn,
            leader: 0,
            name,
            root: root.to_path_buf(),
            cgroups,
        };
        let running = wait_until(Duration::from_secs(60), || {
            if let Ok(Some(_)) = m.nspawn.try_wait() {
                return true;
            }
            if m.leader == 0 {
                m.leader = find_leader(m.nspawn.id()).unwrap_or(0);
                return false;
            }
            let out = m.run(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&out.stdout);
            matches!(state.trim(), "running" | "degraded")
        });
        let boot_log = || fs::read_to_string(&log).unwrap_or_default();
        if let Ok(Some(st)) = m.nspawn.try_wait() {
            return Err(format!(
                "systemd-nspawn exited ({st}) while booting:\n{}",
                boot_log()
            ));
        }
        if !running {
            return Err(format!("the container did not boot within 60 s:\n{}", boot_log()));
        }
        eprintln!(
            "nspawn: booted {} to `running` in {:.2?} (PID 1 is {} here)",
            m.name,
            started.elapsed(),
            m.leader
        );
        Ok(m)
    }

    /// Run a command inside the container.
    fn run(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.leader.to_string(), "-a"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter")
    }

    /// Run a command inside; panic with its output when it fails.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn show(&self, unit: &str, prop: &str) -> String {
        self.ok(&["systemctl", "show", "-p", prop, "--value", unit])
            .trim()
            .to_owned()
    }

    /// `journalctl -b --no-pager -o short-precise ARGS` (this boot only).
    fn journal(&self, args: &[&str]) -> String {
        let mut a = vec!["journalctl", "-b", "--no-pager", "-q", "-o", "short-precise"];
        a.extend_from_slice(args);
        self.ok(&a)
    }

    /// Poll the journal until it has a line containing `needle`; panic with the journal when not.
    fn wait_journal(&self, args: &[&str], needle: &str) -> String {
        let mut last = String::new();
        if wait_until(PATIENCE, || {
            last = self.journal(args);
            last.contains(needle)
        }) {
            return last;
        }
        panic!("no {needle:?} in journalctl {args:?} within {PATIENCE:?}:\n{last}");
    }

    /// Install `text` as unit `unit`, plus a drop-in with the `Environment=` of `env` and
    /// `extra` settings.
    fn install_text(&self, unit: &str, text: &str, env: &[(&str, &str)], extra: &str) {
        let dir = self.root.join("etc/systemd/system");
        fs::write(dir.join(format!("{unit}.service")), text).expect("write the unit");
        let drop_in = dir.join(format!("{unit}.service.d"));
        fs::create_dir_all(&drop_in).expect("create the drop-in directory");
        let mut conf = String::from("[Service]\n");
        for (k, v) in env {
            conf.push_str(&format!("Environment={k}={v}\n"));
        }
        conf.push_str(extra);
        fs::write(drop_in.join("test.conf"), conf).expect("write the drop-in");
    }

    /// Install a unit printed by `sd_daemon --print-systemd-unit` (with `print_env`), plus a
    /// drop-in with the test's `Environment=` and `extra` settings.
    fn install(&self, unit: &str, print_env: &[(&str, &str)], run_env: &[(&str, &str)], extra: &str) {
        self.install_exe(
            Path::new(env!("CARGO_BIN_EXE_sd_daemon")),
            unit,
            print_env,
            run_env,
            extra,
        );
    }

    /// [`install`](Self::install) for any binary with the generated command line.
    fn install_exe(
        &self,
        exe: &Path,
        unit: &str,
        print_env: &[(&str, &str)],
        run_env: &[(&str, &str)],
        extra: &str,
    ) {
        let out = Command::new(exe)
            .arg("--print-systemd-unit")
            .envs(print_env.iter().copied())
            .output()
            .expect("run sd_daemon --print-systemd-unit");
        assert!(out.status.success(), "--print-systemd-unit failed: {out:?}");
        let text = String::from_utf8(out.stdout).expect("the unit is UTF-8");
        let env: Vec<(&str, &str)> = print_env.iter().chain(run_env).copied().collect();
        self.install_text(unit, &text, &env, extra);
    }

    /// Lines of `text` that contain `needle`, printed for the record.
    fn quote(label: &str, text: &str, needles: &[&str]) {
        println!("--- {label}");
        for l in text.lines().filter(|l| needles.iter().any(|n| l.contains(n))) {
            println!("    {l}");
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // SIGTERM to nspawn halts the container cleanly; SIGKILL to its PID 1 if it hangs.
        // SAFETY: kill(2) on processes this test started.
        unsafe { libc::kill(self.nspawn.id() as libc::pid_t, libc::SIGTERM) };
        let done = wait_until(Duration::from_secs(15), || {
            matches!(self.nspawn.try_wait(), Ok(Some(_)))
        });
        if !done {
            if self.leader != 0 {
                // SAFETY: as above.
                unsafe { libc::kill(self.leader as libc::pid_t, libc::SIGKILL) };
            }
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
        for c in &self.cgroups {
            remove_cgroup(c);
        }
        let _ = fs::remove_dir_all(Path::new("/run/systemd/nspawn/propagate").join(&self.name));
        if let Ok(md) = fs::metadata(&self.root) {
            let _ = fs::remove_file(format!(
                "/run/systemd/nspawn/locks/inode-{}:{}",
                md.dev(),
                md.ino()
            ));
        }
        remove_units(&self.root);
    }
}

fn remove_units(root: &Path) {
    let dir = root.join("etc/systemd/system");
    // The README's install of the heartbeat: its binary and `enable`'s link.
    let _ = fs::remove_file(root.join("usr/local/bin/heartbeat"));
    let _ = fs::remove_file(dir.join("multi-user.target.wants/Heartbeat.service"));
    for u in UNITS {
        let _ = fs::remove_file(dir.join(format!("{u}.service")));
        let _ = fs::remove_dir_all(dir.join(format!("{u}.service.d")));
    }
    // The units' LogsDirectory= (and DynamicUser='s private/ one) under /var/log.
    for dir in ["var/log", "var/log/private"] {
        if let Ok(rd) = fs::read_dir(root.join(dir)) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("Sd") || name.starts_with("Heartbeat") || name.starts_with("Worker") {
                    let _ = fs::remove_file(e.path());
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

/// Lines in order: each needle's first line comes after the previous one's.
fn in_order(text: &str, needles: &[&str]) {
    if let Err(n) = ordered(text, needles) {
        panic!("{n:?} missing, or not after {needles:?}'s earlier lines, in:\n{text}");
    }
}

/// Whether each needle comes after the previous one in `text`; `Err` names the first that
/// does not.
fn ordered<'a>(text: &str, needles: &[&'a str]) -> Result<(), &'a str> {
    let mut from = 0;
    for n in needles {
        match text[from..].find(n) {
            Some(i) => from += i + n.len(),
            None => return Err(n),
        }
    }
    Ok(())
}

/// Root, nsenter, the lock, the root file system of `suite` and a boot, or the reason not.
fn machine(suite: &str, dir: &str) -> Result<(Lock, Machine), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("booting systemd in systemd-nspawn needs root".into());
    }
    which("nsenter").ok_or("nsenter is not installed (util-linux)")?;
    let lock = lock(&target_dir().join("nspawn-rootfs.lock"))?;
    let root = rootfs_of(suite, dir)?;
    remove_units(&root);
    Ok((lock, Machine::boot(&root)?))
}

/// Under a systemd of 253 or later (Debian trixie's, in its own cached root file system), the
/// unit the daemon prints there is `Type=notify-reload`, and `systemctl reload` waits for the
/// reload to end: `on_reload` works 2 s, so the reload takes that long, and the daemon stays up.
#[test]
fn notify_reload_under_a_newer_systemd() {
    let started = Instant::now();
    let (_lock, m) = match machine("trixie", "nspawn-rootfs-trixie") {
        Ok(lm) => lm,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    eprintln!("nspawn: trixie up in {:.1?}", started.elapsed());
    let version = m.ok(&["systemctl", "--version"]);
    println!("--- inside: {}", version.lines().next().unwrap_or(""));
    // Printed inside, as an operator on that host would: it reads that host's systemctl.
    let exe = env!("CARGO_BIN_EXE_sd_daemon");
    let unit = m.ok(&["env", "SD_NAME=SdReload", exe, "--print-systemd-unit"]);
    assert!(unit.lines().any(|l| l == "Type=notify-reload"), "{unit}");
    assert!(!unit.contains("ExecReload="), "{unit}");
    m.install_text(
        "sd-reload",
        &unit,
        &[
            ("SD_NAME", "SdReload"),
            ("SD_INTERVAL_MS", "200"),
            ("SD_RELOAD_MS", "2000"),
            ("SD_STREAM", "1"),
        ],
        "",
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "sd-reload"]);
    assert_eq!(m.show("sd-reload", "Type"), "notify-reload");
    let pid = m.show("sd-reload", "MainPID");
    let before = Instant::now();
    let out = m.run(&["systemctl", "reload", "sd-reload"]);
    let took = before.elapsed();
    let journal = m.journal(&["-u", "sd-reload"]);
    assert!(
        out.status.success(),
        "systemctl reload failed ({}): {}\n{journal}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // It waited for READY=1 after on_reload (2 s), not only for the signal to be sent.
    assert!(
        took >= Duration::from_millis(1800),
        "reload returned after {took:?}\n{journal}"
    );
    assert!(took < Duration::from_secs(30), "reload took {took:?}\n{journal}");
    assert!(journal.contains("on_reload ran"), "{journal}");
    assert_eq!(m.show("sd-reload", "ActiveState"), "active", "{journal}");
    assert_eq!(m.show("sd-reload", "MainPID"), pid, "restarted:\n{journal}");
    Machine::quote("notify-reload", &journal, &["Reload", "reload", "on_reload"]);
    println!("systemctl reload took {took:.2?}");
    m.ok(&["systemctl", "stop", "sd-reload"]);
}

#[test]
fn the_daemons_run_as_notify_units_of_a_real_systemd() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("booting systemd in systemd-nspawn needs root");
        return;
    }
    if which("nsenter").is_none() {
        skip_or_fail("nsenter is not installed (util-linux)");
        return;
    }
    let _lock = match lock(&target_dir().join("nspawn-rootfs.lock")) {
        Ok(l) => l,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    let root = match rootfs() {
        Ok(r) => r,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    remove_units(&root);
    let m = match Machine::boot(&root) {
        Ok(m) => m,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };

    m.install(
        "sd-passive",
        &[("SD_NAME", "SdPassive")],
        &[
            ("SD_INTERVAL_MS", "500"),
            ("SD_NEW_MS", "1000"),
            ("SD_STATUS", "serving"),
            ("SD_STREAM", "1"),
            ("SD_SYSLOG", "1"),
        ],
        "",
    );
    m.install(
        "sd-aggressive",
        &[("SD_NAME", "SdAggressive")],
        &[
            ("SD_MODE", "aggressive"),
            ("SD_TICK", "sleep:60000"),
            ("SD_STREAM", "1"),
        ],
        "",
    );
    // TimeoutStopSec=1s, a 4 s tick, stop_timeout 30 s: only EXTEND_TIMEOUT_USEC (sent within
    // stop_timeout) keeps systemd from killing it.
    m.install(
        "sd-slow",
        &[("SD_NAME", "SdSlow")],
        &[
            ("SD_TICK", "sleep:4000"),
            ("SD_STREAM", "1"),
            ("SD_STOP_TIMEOUT_MS", "30000"),
        ],
        "TimeoutStopSec=1s\n",
    );
    m.install(
        "sd-error",
        &[("SD_NAME", "SdError")],
        &[
            ("SD_INTERVAL_MS", "200"),
            ("SD_TICK", "error:2"),
            ("SD_STREAM", "1"),
        ],
        "",
    );
    // WatchdogSec=2s from the builder's `watchdog`; ticks every 300 ms, the 12th (3.3 s after
    // the first) hangs. Restart=no keeps Result=watchdog for the assertion.
    m.install(
        "sd-hang",
        &[("SD_NAME", "SdHang"), ("SD_WATCHDOG_MS", "2000")],
        &[
            ("SD_INTERVAL_MS", "300"),
            ("SD_TICK", "hang:12"),
            ("SD_STREAM", "1"),
        ],
        "Restart=no\n",
    );
    let unit_text =
        fs::read_to_string(root.join("etc/systemd/system/sd-hang.service")).expect("read the unit");
    println!("--- sd_daemon --print-systemd-unit (SdHang):\n{unit_text}");
    assert!(unit_text.contains("\nWatchdogSec=2s\n"), "{unit_text}");
    m.ok(&["systemctl", "daemon-reload"]);

    // The watchdog scenario runs in the background while the others go on.
    let hang_started = Instant::now();
    m.ok(&["systemctl", "start", "sd-hang"]);

    // --- start returns only after READY=1
    let t = Instant::now();
    m.ok(&["systemctl", "start", "sd-passive"]);
    let took = t.elapsed();
    assert_eq!(m.show("sd-passive", "ActiveState"), "active");
    assert_eq!(m.show("sd-passive", "SubState"), "running");
    let file_log = fs::read_to_string(root.join("var/log/SdPassive/SdPassive.log")).unwrap_or_default();
    assert!(
        file_log.contains("state built"),
        "`systemctl start` returned before the state was built (READY=1 too early):\n{file_log}"
    );
    assert!(took >= Duration::from_millis(900), "start took only {took:?}");
    println!("--- systemctl start sd-passive returned after {took:.2?} (the state takes 1 s)");
    let pid = m.show("sd-passive", "MainPID");
    let journal = m.wait_journal(&["-u", "sd-passive"], "Started sd-passive.service");
    in_order(
        &journal,
        &[
            &format!("PID: {pid}"),
            "Set signal handler: 2",
            "Set signal handler: 15",
            "Mode: PASSIVE",
            "state built",
            "Started sd-passive.service",
        ],
    );
    // `stream` and `syslog` both on: one path into the journal (syslog), each line once.
    let copies = journal.lines().filter(|l| l.ends_with("Mode: PASSIVE")).count();
    assert_eq!(
        copies, 1,
        "\"Mode: PASSIVE\" is in the journal {copies} times:\n{journal}"
    );
    assert!(
        journal.contains("stdout is the journal stream and syslog is on"),
        "{journal}"
    );
    Machine::quote(
        "journalctl -u sd-passive (start)",
        &journal,
        &["PID: ", "Mode: ", "state built", "Starting", "Started"],
    );

    // --- STATUS=
    assert!(wait_until(PATIENCE, || m
        .show("sd-passive", "StatusText")
        .ends_with(": serving")));
    let status = m.run(&["systemctl", "status", "--no-pager", "sd-passive"]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("Status: \"tick "), "{status}");
    Machine::quote(
        "systemctl status sd-passive",
        &status,
        &["Active:", "Main PID:", "Status:"],
    );

    // --- reload runs on_reload
    m.ok(&["systemctl", "reload", "sd-passive"]);
    // systemd's own "Reloaded sd-passive.service" line can reach the journal before the
    // daemon's lines (which go through syslog): wait for the daemon's.
    let reload = ["Received 1 signal.", "on_reload ran", "Reloaded"];
    let mut journal = String::new();
    wait_until(PATIENCE, || {
        journal = m.journal(&["-u", "sd-passive"]);
        ordered(&journal, &reload).is_ok()
    });
    in_order(&journal, &reload);
    assert!(wait_until(PATIENCE, || m.show("sd-passive", "ActiveState") == "active"));
    Machine::quote(
        "journalctl -u sd-passive (reload)",
        &journal,
        &["Reloading", "Received 1 signal.", "on_reload ran", "Reloaded"],
    );

    // --- passive stop
    m.ok(&["systemctl", "stop", "sd-passive"]);
    assert_eq!(m.show("sd-passive", "Result"), "success");
    assert_eq!(m.show("sd-passive", "ExecMainStatus"), "0");
    let journal = m.wait_journal(&["-u", "sd-passive"], "Graceful Interrupt...");
    in_order(
        &journal,
        &[
            "interrupted == True",
            "Received 15 signal.",
            "on_stop ran",
            "Graceful Interrupt...",
        ],
    );
    Machine::quote(
        "journalctl -u sd-passive (stop)",
        &journal,
        &[
            "Stopping",
            "interrupted == True",
            "Received 15",
            "on_stop ran",
            "Graceful",
            "Deactivated",
            "Stopped",
        ],
    );

    // --- syslog: by the kernel-verified pid, and by the tag
    let by_pid = m.wait_journal(
        &[&format!("_PID={pid}"), "_TRANSPORT=syslog"],
        "Graceful Interrupt...",
    );
    in_order(
        &by_pid,
        &[&format!("PID: {pid}"), "Mode: PASSIVE", "Graceful Interrupt..."],
    );
    assert!(by_pid.contains(&format!("SdPassive[{pid}]")), "{by_pid}");
    Machine::quote(
        &format!("journalctl _PID={pid} _TRANSPORT=syslog"),
        &by_pid,
        &["PID: ", "Mode: ", "Graceful"],
    );
    let by_tag = m.wait_journal(&["-t", "SdPassive"], "Graceful Interrupt...");
    assert!(by_tag.contains("on_stop ran"), "{by_tag}");
    Machine::quote(
        "journalctl -t SdPassive",
        &by_tag,
        &["PID: ", "on_stop", "Graceful"],
    );

    // --- aggressive stop: at once, without the tick
    m.ok(&["systemctl", "start", "sd-aggressive"]);
    m.wait_journal(&["-u", "sd-aggressive"], "tick 1 start");
    let t = Instant::now();
    m.ok(&["systemctl", "stop", "sd-aggressive"]);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "aggressive stop took {took:?}");
    assert_eq!(m.show("sd-aggressive", "Result"), "success");
    let journal = m.wait_journal(&["-u", "sd-aggressive"], "Graceful Interrupt...");
    in_order(
        &journal,
        &["tick 1 start", "Received 15 signal.", "Graceful Interrupt..."],
    );
    assert!(!journal.contains("tick 1 end"), "{journal}");
    println!("--- systemctl stop sd-aggressive returned after {took:.2?} (the tick sleeps 60 s)");
    Machine::quote(
        "journalctl -u sd-aggressive",
        &journal,
        &["tick 1 start", "Received 15", "Graceful", "Deactivated"],
    );

    // --- passive stop of a long tick, past TimeoutStopSec=1s thanks to EXTEND_TIMEOUT_USEC
    m.ok(&["systemctl", "start", "sd-slow"]);
    m.wait_journal(&["-u", "sd-slow"], "tick 1 start");
    let t = Instant::now();
    m.ok(&["systemctl", "stop", "sd-slow"]);
    let took = t.elapsed();
    assert_eq!(
        m.show("sd-slow", "Result"),
        "success",
        "systemd killed the slow stop"
    );
    assert!(
        took > Duration::from_secs(1),
        "the stop did not wait for the tick: {took:?}"
    );
    let journal = m.wait_journal(&["-u", "sd-slow"], "Graceful Interrupt...");
    in_order(
        &journal,
        &[
            "Received 15 signal.",
            "tick 1 end",
            "on_stop ran",
            "Graceful Interrupt...",
        ],
    );
    assert!(!journal.contains("timed out"), "{journal}");
    println!("--- systemctl stop sd-slow (TimeoutStopSec=1s) returned after {took:.2?}");
    Machine::quote(
        "journalctl -u sd-slow",
        &journal,
        &[
            "Stopping",
            "Received 15",
            "tick 1 end",
            "on_stop",
            "Graceful",
            "Deactivated",
        ],
    );

    // --- a tick error: logged at ERROR on stdout (journalctl -p err), restarted
    m.ok(&["systemctl", "start", "sd-error"]);
    assert!(
        wait_until(PATIENCE, || m
            .show("sd-error", "NRestarts")
            .parse::<u32>()
            .is_ok_and(|n| n >= 1)),
        "sd-error was not restarted:\n{}",
        m.journal(&["-u", "sd-error"])
    );
    let errors = m.wait_journal(&["-u", "sd-error", "-p", "err"], "Tick failed");
    assert!(
        errors.contains("tick 2 could not reach the upstream at db:5432"),
        "{errors}"
    );
    let journal = m.journal(&["-u", "sd-error"]);
    assert!(journal.contains("Scheduled restart job"), "{journal}");
    println!("--- sd-error NRestarts={}", m.show("sd-error", "NRestarts"));
    Machine::quote("journalctl -u sd-error -p err", &errors, &["Tick failed"]);
    Machine::quote(
        "journalctl -u sd-error",
        &journal,
        &[
            "Main process exited",
            "Failed with result",
            "Scheduled restart job",
        ],
    );
    let _ = m.run(&["systemctl", "stop", "sd-error"]);

    hardened_unit_as_printed(&m, &root);
    configuration_error_is_not_restarted(&m);

    // --- the watchdog: alive past WatchdogSec while ticking, killed once the tick hangs
    assert!(
        wait_until(Duration::from_secs(30), || m.show("sd-hang", "Result")
            == "watchdog"),
        "sd-hang did not end in Result=watchdog:\n{}",
        m.journal(&["-u", "sd-hang"])
    );
    let journal = m.journal(&["-u", "sd-hang"]);
    in_order(&journal, &["tick 12 start", "Watchdog timeout"]);
    assert!(!journal.contains("tick 12 end"), "{journal}");
    println!(
        "--- sd-hang: Result=watchdog {:.1?} after its start",
        hang_started.elapsed()
    );
    Machine::quote(
        "journalctl -u sd-hang",
        &journal,
        &[
            "Started",
            "tick 11 end",
            "tick 12 start",
            "Watchdog",
            "Killing",
            "Failed with result",
        ],
    );

    // After the watchdog scenario: stopping journald's sockets below would close the stdout
    // streams of the units still running.
    journal_native_protocol(&m);
    journald_restarted_and_lost(&m, &root);

    // --- the examples, as units made by their own --print-systemd-unit (built by
    // `cargo test --workspace`, which builds every example before running any test)
    let examples = bin_dir().join("examples");
    let heartbeat = examples.join("heartbeat");
    let worker = examples.join("worker");
    if !heartbeat.is_file() || !worker.is_file() {
        skip_or_fail(&format!(
            "the examples are not built in {} (`cargo test --workspace` builds them): not run as units",
            examples.display()
        ));
        return;
    }
    // The heartbeat as the README's systemd section installs it, command by command: the binary
    // in /usr/local/bin, its unit printed from there, enabled and started.
    let installed = root.join("usr/local/bin/heartbeat");
    fs::create_dir_all(root.join("usr/local/bin")).expect("create /usr/local/bin");
    fs::copy(&heartbeat, &installed).expect("install the heartbeat");
    m.ok(&["chmod", "755", "/usr/local/bin/heartbeat"]);
    m.ok(&[
        "sh",
        "-c",
        "/usr/local/bin/heartbeat --print-systemd-unit > /etc/systemd/system/Heartbeat.service",
    ]);
    // What it printed is examples/systemd/Heartbeat.service, from its header on.
    let printed =
        fs::read_to_string(root.join("etc/systemd/system/Heartbeat.service")).expect("read the printed unit");
    let example = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/systemd/Heartbeat.service"),
    )
    .expect("read examples/systemd/Heartbeat.service");
    let from_header = |s: &str| s[s.find("# Heartbeat:").unwrap_or(0)..].to_owned();
    assert_eq!(
        from_header(&example),
        printed,
        "the example unit differs from the printed one"
    );
    let verify = m.run(&[
        "systemd-analyze",
        "verify",
        "/etc/systemd/system/Heartbeat.service",
    ]);
    assert!(
        verify.status.success(),
        "systemd-analyze verify Heartbeat.service: {verify:?}"
    );
    m.ok(&[
        "sh",
        "-c",
        "systemctl daemon-reload && systemctl enable --now Heartbeat",
    ]);
    assert_eq!(m.show("Heartbeat", "UnitFileState"), "enabled");
    // The worker's default spool, in the unit's private /tmp (ProtectSystem=strict makes
    // /var/spool read-only).
    m.install_exe(&worker, "worker", &[], &[], "");
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "worker"]);
    assert_eq!(m.show("Heartbeat", "ActiveState"), "active");
    assert_eq!(m.show("worker", "ActiveState"), "active");
    m.wait_journal(&["-u", "Heartbeat"], "beat 1");
    assert!(wait_until(PATIENCE, || m.show("worker", "StatusText") == "0 file(s) waiting"));
    m.ok(&["systemctl", "reload", "worker"]);
    m.wait_journal(&["-u", "worker"], "reloaded after");
    m.ok(&["systemctl", "stop", "Heartbeat", "worker"]);
    assert_eq!(m.show("Heartbeat", "Result"), "success");
    assert_eq!(m.show("worker", "Result"), "success");
    let hb = m.wait_journal(&["-u", "Heartbeat"], "Graceful Interrupt...");
    let hb_file = fs::read_to_string(root.join("var/log/Heartbeat/Heartbeat.log"))
        .expect("the heartbeat logs to its LogsDirectory, /var/log/Heartbeat/");
    in_order(&hb_file, &["Mode: AGGRESSIVE", "beat 1", "Graceful Interrupt..."]);
    in_order(
        &hb,
        &[
            "Mode: AGGRESSIVE",
            "beat 1",
            "Received 15 signal.",
            "Graceful Interrupt...",
        ],
    );
    let wk = m.wait_journal(&["-u", "worker"], "Graceful Interrupt...");
    in_order(
        &wk,
        &[
            "watching /tmp/worker-spool",
            "reloaded after",
            "stopping after",
            "Graceful Interrupt...",
        ],
    );
    Machine::quote(
        "journalctl -u Heartbeat",
        &hb,
        &[
            "Started",
            "Mode: ",
            "beat 1",
            "Received 15",
            "Graceful",
            "Deactivated",
        ],
    );
    Machine::quote(
        "journalctl -u worker",
        &wk,
        &[
            "Started",
            "watching",
            "reloaded",
            "Reloaded",
            "stopping after",
            "Graceful",
            "Deactivated",
        ],
    );
}

/// The unit `sd_daemon --print-systemd-unit` prints, installed as it is (its drop-in sets only
/// the tick interval):
/// `systemd-analyze verify` accepts it, it starts hardened (a read-only root, `NoNewPrivileges`,
/// a private `/tmp`), logs to its `LogsDirectory=` (`/var/log/SdDaemon/`), and stops. Then the
/// same unit with its commented `DynamicUser=yes` hint turned on: it runs as a user that is not
/// root and still logs, to `/var/log/private/SdDynamic/`.
fn hardened_unit_as_printed(m: &Machine, root: &Path) {
    m.install("sd-hardened", &[], &[("SD_INTERVAL_MS", "200")], "");
    let unit_path = root.join("etc/systemd/system/sd-hardened.service");
    let unit = fs::read_to_string(&unit_path).expect("read the unit");
    println!("--- sd_daemon --print-systemd-unit (installed as sd-hardened, as is):\n{unit}");
    for line in [
        "LogsDirectory=SdDaemon",
        "RestartPreventExitStatus=64 78",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "#DynamicUser=yes",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line:?} in:\n{unit}");
    }
    // The drop-in install() writes adds the tick interval (sd_daemon ticks back to back
    // without it), nothing else.
    let drop_in = root.join("etc/systemd/system/sd-hardened.service.d/test.conf");
    assert_eq!(
        fs::read_to_string(drop_in).expect("read the drop-in"),
        "[Service]\nEnvironment=SD_INTERVAL_MS=200\n"
    );
    m.ok(&["systemctl", "daemon-reload"]);
    let verify = m.run(&[
        "systemd-analyze",
        "verify",
        "/etc/systemd/system/sd-hardened.service",
    ]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success(), "systemd-analyze verify failed:\n{said}");
    assert!(
        !said.contains("sd-hardened"),
        "systemd-analyze verify complained:\n{said}"
    );
    println!(
        "--- systemd-analyze verify sd-hardened.service: passed{}",
        if said.trim().is_empty() {
            String::new()
        } else {
            format!(" (about other units: {})", said.trim())
        }
    );

    m.ok(&["systemctl", "start", "sd-hardened"]);
    assert_eq!(m.show("sd-hardened", "ActiveState"), "active");
    for (prop, want) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("LogsDirectory", "SdDaemon"),
    ] {
        assert_eq!(m.show("sd-hardened", prop), want, "{prop}");
    }
    let pid = m.show("sd-hardened", "MainPID");
    // The service sees a read-only root file system, as ProtectSystem=strict promises.
    let mounts = m.ok(&["cat", &format!("/proc/{pid}/mountinfo")]);
    let root_mount = mounts
        .lines()
        .rev()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_default();
    let options = root_mount.split_whitespace().nth(5).unwrap_or_default();
    assert!(
        options.split(',').any(|o| o == "ro"),
        "the root is not read-only for the service: {root_mount}"
    );
    let log = root.join("var/log/SdDaemon/SdDaemon.log");
    assert!(
        wait_until(PATIENCE, || fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("tick 3 end"))),
        "no ticks in {}:\n{}",
        log.display(),
        m.journal(&["-u", "sd-hardened"])
    );
    m.ok(&["systemctl", "stop", "sd-hardened"]);
    assert_eq!(m.show("sd-hardened", "Result"), "success");
    let text = fs::read_to_string(&log).expect("read the log");
    in_order(
        &text,
        &[
            &format!("PID: {pid}"),
            "Mode: PASSIVE",
            "tick 1 start",
            "Received 15 signal.",
            "Graceful Interrupt...",
        ],
    );
    println!(
        "--- sd-hardened: root mounted {options} for the service; {} lines in /var/log/SdDaemon/SdDaemon.log, last: {:?}",
        text.lines().count(),
        text.lines().last().unwrap_or_default()
    );

    // The hint, turned on: DynamicUser=yes.
    m.install(
        "sd-dynamic",
        &[("SD_NAME", "SdDynamic")],
        &[("SD_INTERVAL_MS", "200")],
        "DynamicUser=yes\n",
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "sd-dynamic"]);
    assert_eq!(m.show("sd-dynamic", "ActiveState"), "active");
    let pid = m.show("sd-dynamic", "MainPID");
    let status = m.ok(&["cat", &format!("/proc/{pid}/status")]);
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        !uid.is_empty() && uid != "0",
        "DynamicUser=yes runs as uid {uid:?}"
    );
    let log = root.join("var/log/private/SdDynamic/SdDynamic.log");
    assert!(
        wait_until(PATIENCE, || fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("tick 2 end"))),
        "no ticks in {}:\n{}",
        log.display(),
        m.journal(&["-u", "sd-dynamic"])
    );
    m.ok(&["systemctl", "stop", "sd-dynamic"]);
    assert_eq!(m.show("sd-dynamic", "Result"), "success");
    let owner = fs::metadata(&log).map(|md| md.uid()).unwrap_or(0);
    println!(
        "--- sd-dynamic (DynamicUser=yes): ran as uid {uid}, log file owned by {owner}: {}",
        log.display()
    );
}

/// A configuration error (exit 78) under the printed unit's `Restart=on-failure`: it is not
/// restarted (`RestartPreventExitStatus=64 78`), the unit stays failed, and the journal has the
/// sentence.
fn configuration_error_is_not_restarted(m: &Machine) {
    // A log_path that is a file: "is not a directory", exit 78, on every start.
    m.install(
        "sd-config",
        &[("SD_NAME", "SdConfig")],
        &[("SD_LOG_DIR", "/etc/os-release")],
        "",
    );
    m.ok(&["systemctl", "daemon-reload"]);
    let start = m.run(&["systemctl", "start", "sd-config"]);
    assert!(
        !start.status.success(),
        "sd-config started with a file as its log_path"
    );
    assert!(
        wait_until(PATIENCE, || m.show("sd-config", "ActiveState") == "failed"),
        "sd-config is {}:\n{}",
        m.show("sd-config", "ActiveState"),
        m.journal(&["-u", "sd-config"])
    );
    // Restart=on-failure would restart it after RestartSec=100ms; wait well past that.
    std::thread::sleep(Duration::from_secs(2));
    let journal = m.journal(&["-u", "sd-config"]);
    assert_eq!(m.show("sd-config", "ExecMainStatus"), "78", "{journal}");
    assert_eq!(m.show("sd-config", "NRestarts"), "0", "restarted:\n{journal}");
    assert_eq!(m.show("sd-config", "ActiveState"), "failed", "{journal}");
    assert!(!journal.contains("Scheduled restart job"), "{journal}");
    assert!(journal.contains("is not a directory"), "{journal}");
    Machine::quote(
        "journalctl -u sd-config (exit 78, not restarted)",
        &journal,
        &["is not a directory", "Main process exited", "Failed with result"],
    );
    let _ = m.run(&["systemctl", "reset-failed", "sd-config"]);
}

/// The fields of `journalctl -o json --all` lines, as strings (journalctl gives a value with
/// control characters, a newline for one, as an array of bytes).
fn json_entries(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let obj = v.as_object().expect("an entry is an object");
            obj.iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Array(a) => {
                            let bytes: Vec<u8> = a
                                .iter()
                                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()).expect("a byte"))
                                .collect();
                            String::from_utf8_lossy(&bytes).into_owned()
                        }
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .collect()
}

/// `journal` under the real journald, with `stream` and `syslog` on too (the unit's stdout is
/// the journal stream, `/dev/log` is journald's): every record is ONE entry, of the native
/// transport, with its priority, `SYSLOG_IDENTIFIER`, `SYSLOG_PID`, `CODE_FILE`, `CODE_LINE`,
/// `TARGET` and its own fields upper-cased; a multi-line message is whole; a 300 KB message,
/// too large for any datagram here, arrives whole (through the sealed memfd).
fn journal_native_protocol(m: &Machine) {
    m.install(
        "sd-journal",
        &[
            ("SD_NAME", "SdJournal"),
            ("SD_JOURNAL", "1"),
            ("SD_STREAM", "1"),
            ("SD_SYSLOG", "1"),
        ],
        &[("SD_TICK", "journal:300"), ("SD_INTERVAL_MS", "600000")],
        "",
    );
    let unit =
        fs::read_to_string(m.root.join("etc/systemd/system/sd-journal.service")).expect("read the unit");
    assert!(
        unit.contains("# Into the journal: one path, the native protocol (journal)"),
        "{unit}"
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "sd-journal"]);
    let pid = m.show("sd-journal", "MainPID");
    m.wait_journal(&["-u", "sd-journal"], "tick 1 end");
    m.ok(&["systemctl", "stop", "sd-journal"]);
    assert_eq!(m.show("sd-journal", "Result"), "success");
    // journald reads its socket on its own time: wait for the last record.
    m.wait_journal(&[&format!("_PID={pid}")], "Graceful Interrupt...");
    let json = m.ok(&[
        "journalctl",
        "-b",
        "--no-pager",
        "-o",
        "json",
        "--all",
        &format!("_PID={pid}"),
    ]);
    let entries = json_entries(&json);
    let find = |prefix: &str| {
        let hits: Vec<_> = entries
            .iter()
            .filter(|e| e.get("MESSAGE").is_some_and(|m| m.starts_with(prefix)))
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "{prefix:?} is in the journal {} times (one path: once):\n{:#?}",
            hits.len(),
            hits.iter()
                .map(|e| (
                    e.get("_TRANSPORT"),
                    e.get("MESSAGE").map(|m| &m[..m.len().min(80)])
                ))
                .collect::<Vec<_>>()
        );
        hits[0].clone()
    };
    for e in &entries {
        assert_eq!(e.get("_TRANSPORT").map(String::as_str), Some("journal"), "{e:?}");
        assert_eq!(
            e.get("SYSLOG_IDENTIFIER").map(String::as_str),
            Some("SdJournal"),
            "{e:?}"
        );
        assert_eq!(e.get("SYSLOG_PID"), Some(&pid), "{e:?}");
        assert!(e.contains_key("TARGET"), "{e:?}");
    }
    for (msg, prio) in [
        ("journal error 1", "3"),
        ("journal warn 1", "4"),
        ("journal info 1", "6"),
        ("journal debug 1", "7"),
    ] {
        let e = find(msg);
        assert_eq!(e["PRIORITY"], prio, "{e:?}");
        assert_eq!(e["TARGET"], "sd_daemon", "{e:?}");
        assert!(e["CODE_FILE"].ends_with("tests/src/bin/sd_daemon.rs"), "{e:?}");
        assert!(e["CODE_LINE"].parse::<u32>().is_ok(), "{e:?}");
    }
    let fields = find("journal fields 1");
    assert_eq!(fields.get("USER").map(String::as_str), Some("42"), "{fields:?}");
    assert_eq!(fields.get("PATH").map(String::as_str), Some("/x"), "{fields:?}");
    assert_eq!(fields.get("OK").map(String::as_str), Some("true"), "{fields:?}");
    let multi = find("journal multi 1");
    assert_eq!(multi["MESSAGE"], "journal multi 1\nsecond line\nthird line");
    let big = find("journal big 1 ");
    let want = "journal big 1 ".len() + 300 * 1024;
    assert_eq!(big["MESSAGE"].len(), want, "the 300 KB message is cut");
    assert!(big["MESSAGE"]
        .bytes()
        .skip("journal big 1 ".len())
        .all(|b| b == b'x'));
    // No datagram that large gets through here: the entry came in the sealed memfd.
    let wmem = m.ok(&["cat", "/proc/sys/net/core/wmem_default"]);
    let wmem: usize = wmem.trim().parse().expect("wmem_default");
    assert!(
        want > wmem,
        "a {want}-byte entry fits a datagram of the {wmem}-byte socket buffer"
    );
    find("Graceful Interrupt...");
    let errors = m.journal(&["-u", "sd-journal", "-p", "err"]);
    assert!(
        errors.contains("journal error 1") && !errors.contains("journal warn 1"),
        "{errors}"
    );
    let pretty = m.ok(&[
        "journalctl",
        "-b",
        "--no-pager",
        "-o",
        "json-pretty",
        &format!("_PID={pid}"),
        "MESSAGE=journal fields 1",
    ]);
    println!("--- journalctl -o json-pretty _PID={pid} MESSAGE='journal fields 1'\n{pretty}");
    println!(
        "--- journal: {} entries for _PID={pid}, all _TRANSPORT=journal; the 300 KB one whole ({want} bytes > wmem_default {wmem})",
        entries.len()
    );
}

/// A journald restart, then its sockets gone and back, while the daemon logs: `systemctl restart
/// systemd-journald` keeps its sockets (systemd holds them), so nothing is lost at all and the
/// daemon runs on; with the sockets stopped (the socket file gone) there is ONE warning on the
/// other sinks, then one line when it is back, and every record logged after journald is back
/// is in the journal.
fn journald_restarted_and_lost(m: &Machine, root: &Path) {
    m.install(
        "sd-journal-burst",
        &[("SD_NAME", "SdBurst"), ("SD_JOURNAL", "1")],
        &[("SD_TICK", "burst:5"), ("SD_INTERVAL_MS", "20")],
        "",
    );
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "sd-journal-burst"]);
    let pid = m.show("sd-journal-burst", "MainPID");
    let file = root.join("var/log/SdBurst/SdBurst.log");
    // The lines that say so (the warning itself says "... once it is back").
    let lost_line = "journal socket \"/run/systemd/journal/socket\" is lost";
    let back_line = "journal socket \"/run/systemd/journal/socket\" is back\n";
    assert!(wait_until(PATIENCE, || fs::read_to_string(&file)
        .is_ok_and(|l| l.contains("burst 10.5"))));

    let t = Instant::now();
    m.ok(&["systemctl", "restart", "systemd-journald"]);
    println!("--- systemctl restart systemd-journald took {:.2?}", t.elapsed());
    let back_at = last_burst_tick(&fs::read_to_string(&file).unwrap_or_default());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        m.show("sd-journal-burst", "MainPID"),
        pid,
        "the daemon did not survive"
    );

    let sockets = [
        "systemd-journald.socket",
        "systemd-journald-dev-log.socket",
        "systemd-journald.service",
    ];
    // Records queued in the socket while journald shuts it down are gone with it: the check
    // of the restart stops at the last tick logged before that.
    let stopped_at = last_burst_tick(&fs::read_to_string(&file).unwrap_or_default());
    let mut stop = vec!["systemctl", "stop"];
    stop.extend_from_slice(&sockets);
    m.ok(&stop);
    assert!(
        wait_until(PATIENCE, || fs::read_to_string(&file)
            .is_ok_and(|l| l.contains(lost_line))),
        "no warning that the journal socket is lost"
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut start = vec!["systemctl", "start"];
    start.extend_from_slice(&sockets);
    m.ok(&start);
    assert!(
        wait_until(PATIENCE, || fs::read_to_string(&file)
            .is_ok_and(|l| l.contains(back_line))),
        "no line that the journal socket is back"
    );
    std::thread::sleep(Duration::from_millis(1000));
    m.ok(&["systemctl", "stop", "sd-journal-burst"]);
    assert_eq!(m.show("sd-journal-burst", "Result"), "success");

    let log = fs::read_to_string(&file).expect("read the log file");
    let warns: Vec<&str> = log.lines().filter(|l| l.contains(" - WARN - ")).collect();
    assert_eq!(
        warns.len(),
        1,
        "one warning, for the lost socket:\n{}",
        warns.join("\n")
    );
    assert!(warns[0].contains(lost_line), "{}", warns[0]);
    m.wait_journal(&[&format!("_PID={pid}")], "Graceful Interrupt...");
    let journal = m.ok(&[
        "journalctl",
        "-b",
        "--no-pager",
        "-q",
        "-o",
        "cat",
        &format!("_PID={pid}"),
    ]);
    let in_journal: std::collections::HashSet<&str> = journal.lines().collect();
    // After the restart: every record (nothing was lost during it either).
    let after_restart: Vec<&str> = log
        .lines()
        .filter(|l| burst_tick(l).is_some_and(|t| t > back_at && t < stopped_at))
        .collect();
    assert!(
        after_restart.len() > 20,
        "{} records after the restart",
        after_restart.len()
    );
    let back = log.find(back_line).expect("the back line") + back_line.len();
    let after_back: Vec<&str> = log[back..].lines().map(message_of).collect();
    assert!(!after_back.is_empty());
    let missing: Vec<&&str> = after_back.iter().filter(|l| !in_journal.contains(**l)).collect();
    assert!(
        missing.is_empty(),
        "logged after journald was back, not in the journal: {missing:?}"
    );
    let lost = log.find(lost_line).expect("the lost line");
    let restart_window: Vec<&str> = after_restart
        .iter()
        .map(|l| message_of(l))
        .filter(|m| !in_journal.contains(m))
        .collect();
    assert!(
        restart_window.is_empty(),
        "lost across the restart: {restart_window:?}"
    );
    let quiet: Vec<&str> = log[..back]
        .lines()
        .filter(|l| log.find(*l).is_some_and(|at| at > lost))
        .collect();
    println!(
        "--- sd-journal-burst: survived the restart (ticks {back_at} to {stopped_at}: {} records, all in the journal), one WARN for the lost socket, {} records while it was gone (in the file only), {} after it was back, all in the journal",
        after_restart.len(),
        quiet.len(),
        after_back.len()
    );
    Machine::quote("SdBurst.log", &log, &["journal socket"]);
}

/// The message part of a line in the seed's format.
fn message_of(line: &str) -> &str {
    line.splitn(4, " - ").nth(3).unwrap_or(line)
}

/// The tick of a `burst <tick>.<i>` line.
fn burst_tick(line: &str) -> Option<u64> {
    let rest = message_of(line).strip_prefix("burst ")?;
    rest.split('.').next()?.parse().ok()
}

/// The last tick that logged a burst line.
fn last_burst_tick(log: &str) -> u64 {
    log.lines().filter_map(burst_tick).max().unwrap_or(0)
}

/// A drop-in that turns journald's rate limit off and gives its runtime journal room, written
/// into the root file system for one boot and removed on drop.
struct JournaldConf(PathBuf);

impl JournaldConf {
    fn write(root: &Path) -> JournaldConf {
        let dir = root.join("etc/systemd/journald.conf.d");
        fs::create_dir_all(&dir).expect("mkdir journald.conf.d");
        let path = dir.join("simple-daemon-bench.conf");
        fs::write(
            &path,
            "[Journal]\nRateLimitBurst=0\nRuntimeMaxUse=2G\nStorage=volatile\n",
        )
        .expect("write the journald drop-in");
        JournaldConf(path)
    }
}

impl Drop for JournaldConf {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Journal entries/s, ours against systemd-journal-logger, under the container's real journald:
/// N records with the same fields (`tests/src/bin/journal_entries.rs`), the cases alternating
/// for ROUNDS rounds, one process per case. Per case: entries/s at the sender (first record to
/// the return of the last), how many of them the journal holds afterwards (`journalctl
/// RUN=<id>`, read once the count stops growing), and the wall time until it held them; every
/// entry of both senders must be in the journal.
///
/// In the suite it sends 5,000 entries once per case (seconds). The figures in the README come
/// from the benchmark's size, run alone, holding the nspawn lock:
///
/// `flock /work/wt/nspawn.lock cargo test --release -p simple-daemon-tests --test systemd_nspawn
/// -- --nocapture journal_entries_per_second` with `SD_JOURNAL_ENTRIES=50000`
/// `SD_JOURNAL_ROUNDS=3`.
#[test]
fn journal_entries_per_second() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("booting systemd in systemd-nspawn needs root");
        return;
    }
    let n: u64 = std::env::var("SD_JOURNAL_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let rounds: usize = std::env::var("SD_JOURNAL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let _lock = match lock(&target_dir().join("nspawn-rootfs.lock")) {
        Ok(l) => l,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    let root = match rootfs() {
        Ok(r) => r,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    remove_units(&root);
    let _conf = JournaldConf::write(&root);
    let m = match Machine::boot(&root) {
        Ok(m) => m,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    let exe = env!("CARGO_BIN_EXE_journal_entries");
    let cases = ["ours", "theirs", "ours-file"];
    // Per case: sender entries/s, entries found, entries/s until the journal held them.
    let mut results: Vec<Vec<(f64, u64, f64)>> = vec![Vec::new(); cases.len()];
    let count = |run: &str| -> u64 {
        let out = m.run(&[
            "journalctl",
            "--no-pager",
            "-q",
            "-o",
            "cat",
            &format!("RUN={run}"),
        ]);
        String::from_utf8_lossy(&out.stdout).lines().count() as u64
    };
    for round in 0..rounds {
        for (k, case) in cases.iter().enumerate() {
            let run = format!("{case}-{round}-{}", std::process::id());
            let dir = format!("/tmp/jbench-{run}");
            m.ok(&["mkdir", "-p", &dir]);
            let t = Instant::now();
            let out = m.ok(&[exe, case, &n.to_string(), &run, &dir]);
            let nanos: f64 = out.trim().parse().expect("journal_entries prints nanoseconds");
            let sender = n as f64 / (nanos / 1e9);
            // The journal's count, read until it stops growing (journald may lag the sender).
            let mut found = 0;
            let mut held = t.elapsed();
            if *case != "ours-file" {
                let mut still = 0;
                while still < 3 && t.elapsed() < Duration::from_secs(120) {
                    let c = count(&run);
                    if c == found {
                        still += 1;
                    } else {
                        found = c;
                        held = t.elapsed();
                        still = 0;
                    }
                    if found >= n {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            m.ok(&["rm", "-rf", &dir]);
            results[k].push((sender, found, found as f64 / held.as_secs_f64()));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let journald = m.ok(&["journalctl", "--version"]);
    println!(
        "\njournal entries/s under {} in systemd-nspawn, {n} INFO records with 2 fields (user, run), 1 thread, median of {rounds} rounds",
        journald.lines().next().unwrap_or("journald").trim()
    );
    println!(
        "| case | entries/s at the sender | entries in the journal | entries/s until the journal held them |"
    );
    println!("|---|---|---|---|");
    let label = |c: &str| match c {
        "ours" => "simple-daemon `journal` (and its log file)",
        "theirs" => "systemd-journal-logger 2 (JournalLog)",
        _ => "simple-daemon, log file only (no journal): the file's share",
    };
    let mut medians = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        let sender = median(results[k].iter().map(|r| r.0).collect());
        let held = median(results[k].iter().map(|r| r.2).collect());
        let found: Vec<String> = results[k].iter().map(|r| r.1.to_string()).collect();
        medians.push((sender, held));
        if *case == "ours-file" {
            println!("| {} | {sender:.0} | - | - |", label(case));
        } else {
            println!(
                "| {} | {sender:.0} | {} of {n} | {held:.0} |",
                label(case),
                found.join(", ")
            );
        }
    }
    println!(
        "| ours / theirs | {:.2}x | | {:.2}x |",
        medians[0].0 / medians[1].0,
        medians[0].1 / medians[1].1
    );
    for (k, case) in cases.iter().enumerate().take(2) {
        for r in &results[k] {
            assert_eq!(r.1, n, "{case}: the journal holds {} of {n} entries", r.1);
        }
    }
}

/// `systemctl reload` of a unit that reads an operator's file (feature `config`), as
/// `conf_daemon --config /etc/sd-conf.toml --print-systemd-unit` prints it: a level change is in
/// the log without a restart; a broken file fails `systemctl reload` (its `--check-config`),
/// and a SIGHUP that reaches the daemon anyway is one ERROR line, the daemon running on.
#[test]
fn systemctl_reload_applies_the_operators_file() {
    let (_lock, m) = match machine(&codename(), "nspawn-rootfs") {
        Ok(lm) => lm,
        Err(reason) => {
            skip_or_fail(&reason);
            return;
        }
    };
    let file = m.root.join("etc/sd-conf.toml");
    let good = "level = \"info\"\ninterval = \"200ms\"\n[settings]\ngreeting = \"one\"\n";
    fs::write(&file, good).expect("write the operator's file");
    let exe = env!("CARGO_BIN_EXE_conf_daemon");
    let unit = m.ok(&[exe, "--config", "/etc/sd-conf.toml", "--print-systemd-unit"]);
    assert!(
        unit.contains("--config /etc/sd-conf.toml --check-config"),
        "{unit}"
    );
    m.install_text("sd-conf", &unit, &[], "");
    m.ok(&["systemctl", "daemon-reload"]);
    m.ok(&["systemctl", "start", "sd-conf"]);
    let pid = m.show("sd-conf", "MainPID");
    let log = m.root.join("var/log/ConfDaemon/ConfDaemon.log");
    let read = || fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(PATIENCE, || read().contains("greeting one")),
        "{}",
        read()
    );

    fs::write(
        &file,
        good.replace("\"info\"", "\"debug\"")
            .replace("\"one\"", "\"two\""),
    )
    .expect("rewrite");
    let out = m.run(&["systemctl", "reload", "sd-conf"]);
    assert!(out.status.success(), "systemctl reload: {out:?}\n{}", read());
    assert!(
        wait_until(PATIENCE, || read().contains("greeting two")),
        "{}",
        read()
    );
    assert!(
        read().contains("INFO - Reloaded /etc/sd-conf.toml: level info -> debug, [settings] changed"),
        "{}",
        read()
    );
    assert_eq!(m.show("sd-conf", "MainPID"), pid, "restarted");

    fs::write(&file, "level = \"debug\"\nintreval = \"1s\"\n").expect("break the file");
    let out = m.run(&["systemctl", "reload", "sd-conf"]);
    assert!(
        !out.status.success(),
        "a broken file must fail systemctl reload:\n{}",
        read()
    );
    m.ok(&["systemctl", "kill", "-s", "HUP", "--kill-who=main", "sd-conf"]);
    assert!(
        wait_until(PATIENCE, || read().contains("Reload refused")),
        "{}",
        read()
    );
    let before = read().matches("greeting two").count();
    assert!(
        wait_until(PATIENCE, || read().matches("greeting two").count() >= before + 3),
        "{}",
        read()
    );
    let log_text = read();
    let errors: Vec<&str> = log_text.lines().filter(|l| l.contains(" - ERROR - ")).collect();
    assert_eq!(errors.len(), 1, "{log_text}");
    assert!(errors[0].contains("line 2, column 1"), "{}", errors[0]);
    assert_eq!(m.show("sd-conf", "ActiveState"), "active");
    assert_eq!(m.show("sd-conf", "MainPID"), pid, "restarted");
    Machine::quote("operator's file", &log_text, &["Reload", "greeting two"]);
    m.ok(&["systemctl", "stop", "sd-conf"]);
}
