//! The systemd unit `--print-systemd-unit` prints ([`Config::systemd_unit`]).
//!
//! Promises: the unit is meant to be installed as it is: `Type=notify` (`Type=notify-reload`
//! for a systemd 253 or later, read from `systemctl --version`), the log directory made
//! writable, hardening on, the timeouts agreeing with the code's `watchdog` and
//! `stop_timeout`, and every setting quoted so systemd reads back the path and name given.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::timespan;
use crate::config::{Config, SimpleDaemon};
use crate::error::Error;

/// How much longer than `stop_timeout` the printed `TimeoutStopSec=` is: room for the escalation
/// to log, flush (bounded by half a second) and exit before systemd's SIGKILL.
pub const STOP_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// The first systemd with `Type=notify-reload`.
const NOTIFY_RELOAD_SINCE: u32 = 253;

/// The version of this host's systemd, from `systemctl --version` (`systemd 252 (252.39-1)`);
/// `None` without systemctl (a container, another init) or with output it cannot read.
pub(crate) fn host_systemd_version() -> Option<u32> {
    let out = std::process::Command::new("systemctl")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_systemd_version(&String::from_utf8_lossy(&out.stdout))
}

/// The number in the first line of `systemctl --version`.
fn parse_systemd_version(text: &str) -> Option<u32> {
    let mut words = text.lines().next()?.split_whitespace();
    (words.next()? == "systemd").then_some(())?;
    words.next()?.parse().ok()
}

impl Config {
    /// A systemd unit that runs `exec_start` as this daemon: what `--print-systemd-unit` prints
    /// (with the binary's own path). It is meant to be installed as it is:
    ///
    /// - `Type=notify` (the daemon sends `READY=1` once started), `ExecReload=` sends SIGHUP
    ///   (for a systemd 253 or later, [`systemd_unit_for`](Self::systemd_unit_for) prints
    ///   `Type=notify-reload` instead); when the daemon reads an operator's file, the
    ///   `Type=notify` unit runs `--check-config` first, so that a broken file fails
    ///   `systemctl reload`, and `--config PATH` stays in `ExecStart=` when one was given;
    ///   `KillMode=mixed` (SIGTERM to the daemon, SIGKILL to what is left after the timeout),
    ///   `Restart=on-failure` (a tick error, a panic, a watchdog timeout), and
    ///   `RestartPreventExitStatus=64 78`: a usage or configuration error does not get better by
    ///   restarting, so the unit stays failed with its one sentence in the journal.
    /// - The log file: `LogsDirectory=<name>` (systemd creates `/var/log/<name>/`, writable for
    ///   the service's user, and passes it as `$LOGS_DIRECTORY`, which the daemon uses) when no
    ///   [`log_path`](SimpleDaemon::log_path) is set; a `log_path` under `/var/log/` becomes that
    ///   `LogsDirectory=`, any other one a `ReadWritePaths=` (the directory must exist then: the
    ///   daemon cannot create it on a read-only file system).
    /// - Hardening: `NoNewPrivileges=yes`, `ProtectSystem=strict` (everything read-only but the
    ///   log directory), `PrivateTmp=yes`; commented hints for `DynamicUser=yes` / `User=` (it
    ///   runs as root otherwise) and for `After=`/`Wants=network-online.target`.
    /// - A comment on the ONE path the lines take into the journal (the native socket with
    ///   [`journal`](SimpleDaemon::journal), else syslog, else stdout): with several of
    ///   `stream`, `syslog` and `journal` on, the daemon under systemd uses one, so no line is
    ///   in the journal twice.
    /// - `WatchdogSec=` when [`watchdog`](SimpleDaemon::watchdog) is set; `TimeoutStopSec=`
    ///   [`STOP_TIMEOUT_MARGIN`] above [`stop_timeout`](SimpleDaemon::stop_timeout) when it is
    ///   set, so the daemon's own escalation comes before systemd's SIGKILL.
    /// - When `exec_start` lies in a cargo build directory (`target/debug`, `target/release`), a
    ///   comment at the top says so and gives the path to install the binary to.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    /// use std::path::Path;
    /// use std::time::Duration;
    ///
    /// let unit = SimpleDaemon::new("heartbeat")
    ///     .watchdog(Duration::from_secs(10))
    ///     .stop_timeout(Duration::from_secs(30))
    ///     .config()?
    ///     .systemd_unit(Path::new("/usr/local/bin/heartbeat"));
    /// for line in [
    ///     "Description=heartbeat",
    ///     "Type=notify",
    ///     "ExecStart=/usr/local/bin/heartbeat",
    ///     "ExecReload=/bin/kill -HUP $MAINPID",
    ///     "KillMode=mixed",
    ///     "Restart=on-failure",
    ///     "RestartPreventExitStatus=64 78",
    ///     "LogsDirectory=heartbeat",
    ///     "#DynamicUser=yes",
    ///     "NoNewPrivileges=yes",
    ///     "ProtectSystem=strict",
    ///     "PrivateTmp=yes",
    ///     "WatchdogSec=10s",
    ///     "TimeoutStopSec=35s",
    ///     "#After=network-online.target",
    /// ] {
    ///     assert!(unit.lines().any(|l| l == line), "{line}");
    /// }
    ///
    /// let elsewhere = SimpleDaemon::new("heartbeat").log_path("/srv/heartbeat/logs").config()?;
    /// let unit = elsewhere.systemd_unit(Path::new("/usr/local/bin/heartbeat"));
    /// assert!(unit.lines().any(|l| l == "ReadWritePaths=/srv/heartbeat/logs"));
    /// assert!(!unit.contains("LogsDirectory="));
    ///
    /// let both = SimpleDaemon::new("heartbeat").stream(true).journal(true).config()?;
    /// let unit = both.systemd_unit(Path::new("/usr/local/bin/heartbeat"));
    /// assert!(unit.contains("# Into the journal: one path, the native protocol (journal)"));
    /// assert!(unit.contains("so stdout (stream) writes nothing here."));
    ///
    /// let from_cargo = SimpleDaemon::new("heartbeat").config()?;
    /// let unit = from_cargo.systemd_unit(Path::new("/src/hb/target/release/heartbeat"));
    /// assert!(unit.starts_with("# NOTE: ExecStart= below is in a cargo build directory"));
    /// assert!(unit.contains("install -m 755 /src/hb/target/release/heartbeat /usr/local/bin/heartbeat"));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn systemd_unit(&self, exec_start: &Path) -> String {
        self.systemd_unit_for(exec_start, None)
    }

    /// [`systemd_unit`](Self::systemd_unit) for a systemd of this version (`None`: unknown),
    /// what `--print-systemd-unit` prints with the host's (`systemctl --version`).
    ///
    /// From systemd 253 on, the unit is `Type=notify-reload` without `ExecReload=`: `systemctl
    /// reload` sends SIGHUP itself and waits until the reload is done, which the daemon tells
    /// it with `RELOADING=1` (and `MONOTONIC_USEC=`, which systemd requires with it) when the
    /// SIGHUP arrives and `READY=1` once `on_reload` ran. Before 253, or unknown, it is
    /// `Type=notify` with `ExecReload=/bin/kill -HUP $MAINPID`, where `systemctl reload`
    /// returns once the signal is sent.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    /// use std::path::Path;
    ///
    /// let config = SimpleDaemon::new("heartbeat").config()?;
    /// let exe = Path::new("/usr/local/bin/heartbeat");
    /// let new = config.systemd_unit_for(exe, Some(257));
    /// assert!(new.lines().any(|l| l == "Type=notify-reload"));
    /// assert!(!new.contains("ExecReload="));
    /// let old = config.systemd_unit_for(exe, Some(252));
    /// assert!(old.lines().any(|l| l == "Type=notify"));
    /// assert!(old.lines().any(|l| l == "ExecReload=/bin/kill -HUP $MAINPID"));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn systemd_unit_for(&self, exec_start: &Path, systemd: Option<u32>) -> String {
        let notify_reload = systemd.is_some_and(|v| v >= NOTIFY_RELOAD_SINCE);
        let kind = if notify_reload { "notify-reload" } else { "notify" };
        let name = self.name();
        let mut u = String::new();
        if let Some(profile) = cargo_build_dir(exec_start) {
            let file = exec_start
                .file_name()
                .map_or_else(|| name.into(), |f| f.to_string_lossy());
            let install = Path::new("/usr/local/bin").join(&*file);
            let _ = writeln!(
                u,
                "# NOTE: ExecStart= below is in a cargo build directory (target/{profile}), which"
            );
            let _ = writeln!(
                u,
                "# `cargo clean` or the next build replaces. To deploy, install the binary and"
            );
            let _ = writeln!(u, "# print the unit from there:");
            let _ = writeln!(
                u,
                "#   install -m 755 {} {}",
                exec_start.display(),
                install.display()
            );
            let _ = writeln!(
                u,
                "#   {} --print-systemd-unit > /etc/systemd/system/{name}.service",
                install.display()
            );
            let _ = writeln!(u, "#");
        }
        let _ = writeln!(u, "# {name}: a simple-daemon service (Type={kind}).");
        let _ = writeln!(u, "# Install: save as /etc/systemd/system/{name}.service, then");
        let _ = writeln!(u, "#   systemctl daemon-reload && systemctl enable --now {name}");
        let _ = writeln!(u, "[Unit]");
        let _ = writeln!(u, "Description={}", unit_escape(name));
        let _ = writeln!(u, "# When the daemon needs the network up at start:");
        let _ = writeln!(u, "#After=network-online.target");
        let _ = writeln!(u, "#Wants=network-online.target");
        let _ = writeln!(u);
        let _ = writeln!(u, "[Service]");
        if notify_reload {
            let _ = writeln!(
                u,
                "# systemctl reload sends SIGHUP and waits for the daemon's READY=1 (systemd 253+)."
            );
        }
        let _ = writeln!(u, "Type={kind}");
        let base = self.operator.base.as_deref();
        let given = base.and_then(|b| b.cli_config.as_deref());
        let with_config = given.map_or_else(String::new, |p| {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            format!(" --config {}", exec_quote(&p))
        });
        let _ = writeln!(u, "ExecStart={}{with_config}", exec_quote(exec_start));
        let reads_a_file = given.or(base.and_then(|b| b.config_file.as_deref())).is_some();
        if !notify_reload {
            if reads_a_file {
                let _ = writeln!(
                    u,
                    "# A reload checks the configuration file first: a broken one fails `systemctl reload`,"
                );
                let _ = writeln!(u, "# and the daemon runs on, on its old configuration.");
                let _ = writeln!(
                    u,
                    "ExecReload={}{with_config} --check-config",
                    exec_quote(exec_start)
                );
            }
            let _ = writeln!(u, "ExecReload=/bin/kill -HUP $MAINPID");
        } else if reads_a_file {
            let _ = writeln!(
                u,
                "# Check the configuration file before a reload: {}{with_config} --check-config",
                exec_quote(exec_start)
            );
        }
        let _ = writeln!(u, "KillMode=mixed");
        let _ = writeln!(u, "Restart=on-failure");
        let _ = writeln!(
            u,
            "# A usage (64) or configuration (78) error does not get better by restarting."
        );
        let _ = writeln!(u, "RestartPreventExitStatus=64 78");
        if let Some(w) = self.watchdog() {
            let _ = writeln!(u, "WatchdogSec={}", timespan(w));
        }
        if let Some(t) = self.stop_timeout() {
            let _ = writeln!(
                u,
                "TimeoutStopSec={}",
                timespan(t.saturating_add(STOP_TIMEOUT_MARGIN))
            );
        }
        match self.log_path.as_deref().map(logs_directory) {
            None => {
                let _ = writeln!(
                    u,
                    "# The log file: /var/log/{name}/ (passed as $LOGS_DIRECTORY), writable for the service."
                );
                let _ = writeln!(u, "LogsDirectory={}", unit_escape(name));
            }
            Some(Ok(sub)) => {
                let _ = writeln!(
                    u,
                    "# The log file: log_path /var/log/{sub}/, created writable for the service."
                );
                let _ = writeln!(u, "LogsDirectory={}", unit_escape(&sub));
            }
            Some(Err(dir)) => {
                let _ = writeln!(
                    u,
                    "# The log file: log_path, writable under ProtectSystem=strict (create it first)."
                );
                let dir = unit_escape(&dir.to_string_lossy());
                if dir.contains(char::is_whitespace) {
                    let _ = writeln!(u, "ReadWritePaths=\"{}\"", dir.replace('"', "\\\""));
                } else {
                    let _ = writeln!(u, "ReadWritePaths={dir}");
                }
            }
        }
        for line in journal_paths(self) {
            let _ = writeln!(u, "# {line}");
        }
        let _ = writeln!(u, "# It runs as root unless one of these is set:");
        let _ = writeln!(u, "#DynamicUser=yes");
        let _ = writeln!(u, "#User={}", unit_escape(&name.to_lowercase()));
        let _ = writeln!(u, "NoNewPrivileges=yes");
        let _ = writeln!(u, "ProtectSystem=strict");
        let _ = writeln!(u, "PrivateTmp=yes");
        let _ = writeln!(u);
        let _ = writeln!(u, "[Install]");
        let _ = writeln!(u, "WantedBy=multi-user.target");
        u
    }
}

/// The comment of the printed unit on how lines reach the journal: under systemd, stdout
/// (`stream`), `/dev/log` (`syslog`) and the native socket (`journal`) all lead to journald, so
/// the daemon uses ONE of them (the native socket, else syslog, else stdout) and says so.
fn journal_paths(config: &Config) -> Vec<String> {
    let name = config.name();
    let mut c = Vec::new();
    let by = match (config.journal, config.syslog, config.stream) {
        (true, ..) => {
            "the native protocol (journal): `journalctl -u NAME -o json-pretty` shows each record's fields"
        }
        (false, true, _) => "syslog (/dev/log is journald's under systemd)",
        (false, false, true) => "stdout (stream), each line with its priority",
        (false, false, false) => {
            c.push("The journal gets no log lines: turn on `journal` (or `stream`) to read them with journalctl.".to_owned());
            return c;
        }
    };
    c.push(format!(
        "Into the journal: one path, {}.",
        by.replace("NAME", name)
    ));
    let mut left_out = Vec::new();
    if config.stream && (config.journal || config.syslog) {
        left_out.push("stdout (stream) writes nothing here");
    }
    if config.journal && config.syslog {
        left_out.push("syslog sends nothing (/dev/log is journald's)");
    }
    if !left_out.is_empty() {
        c.push(format!(
            "Each line would reach the journal twice otherwise, so {}.",
            left_out.join(" and ")
        ));
    }
    c
}

/// The profile (`debug`, `release`) when `exe` lies in a cargo target directory: a `debug` or
/// `release` directory inside one named `target` (possibly under a target triple), or one
/// holding cargo's `CACHEDIR.TAG`.
fn cargo_build_dir(exe: &Path) -> Option<String> {
    exe.ancestors().skip(1).find_map(|dir| {
        let profile = dir.file_name()?.to_str()?;
        if !matches!(profile, "debug" | "release") {
            return None;
        }
        let target = dir.parent()?;
        let named_target = |d: &Path| d.file_name().is_some_and(|n| n == "target");
        let is_target = named_target(target)
            || target.join("CACHEDIR.TAG").is_file()
            || target.parent().is_some_and(named_target);
        is_target.then(|| profile.to_owned())
    })
}

/// The `LogsDirectory=` for a `log_path` under `/var/log/` (its relative part), else the path
/// itself, which needs `ReadWritePaths=`.
fn logs_directory(dir: &Path) -> Result<String, &Path> {
    match dir.strip_prefix("/var/log") {
        Ok(rel)
            if !rel.as_os_str().is_empty()
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
                && rel.to_str().is_some_and(|s| {
                    !s.chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
                }) =>
        {
            Ok(rel.to_string_lossy().into_owned())
        }
        _ => Err(dir),
    }
}

impl SimpleDaemon {
    /// The systemd unit `--print-systemd-unit` prints: [`Config::systemd_unit_for`] with this
    /// binary's own absolute path as `ExecStart=` and this host's systemd version.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a setting that cannot work; [`Error::Path`] (setting `ExecStart`)
    /// when the binary's own path cannot be found.
    ///
    /// ```
    /// let unit = simple_daemon::SimpleDaemon::new("heartbeat").systemd_unit()?;
    /// let exe = std::env::current_exe().unwrap();
    /// assert!(unit.contains(&format!("\nExecStart={}\n", exe.display())));
    /// assert!(!unit.contains("WatchdogSec="));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn systemd_unit(&self) -> Result<String, Error> {
        let config = self.config()?;
        let exe = std::env::current_exe().map_err(|e| {
            Error::path(
                "ExecStart",
                "/proc/self/exe",
                "cannot be resolved to this binary's path",
                Some(e),
            )
        })?;
        Ok(config.systemd_unit_for(&exe, host_systemd_version()))
    }
}

/// Escape `%` (systemd's specifier character) in a free-text setting.
fn unit_escape(s: &str) -> String {
    s.replace('%', "%%")
}

/// `ExecStart=`'s command: `%` and `$` doubled (specifiers, variables); quoted, with C escapes,
/// when the path has spaces, quotes, backslashes, control characters or is not UTF-8.
fn exec_quote(path: &Path) -> String {
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    let plain = std::str::from_utf8(bytes).ok().filter(|s| {
        !s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | ';'))
    });
    if let Some(s) = plain {
        return s.replace('%', "%%").replace('$', "$$");
    }
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '%' => out.push_str("%%"),
                '$' => out.push_str("$$"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_systemctl_prints() {
        let out = "systemd 252 (252.39-1~deb12u2)\n+PAM +AUDIT\n";
        assert_eq!(parse_systemd_version(out), Some(252));
        assert_eq!(parse_systemd_version("systemd 257 (257.9-1~deb13u1)"), Some(257));
        assert_eq!(parse_systemd_version("elogind 246"), None);
        assert_eq!(parse_systemd_version(""), None);
    }

    #[test]
    fn quotes_exec_paths_systemd_would_split_or_expand() {
        assert_eq!(exec_quote(Path::new("/opt/app/bin")), "/opt/app/bin");
        assert_eq!(exec_quote(Path::new("/opt/100%/$x")), "/opt/100%%/$$x");
        assert_eq!(
            exec_quote(Path::new("/opt/my app/\"d\"")),
            "\"/opt/my app/\\\"d\\\"\""
        );
    }
}
