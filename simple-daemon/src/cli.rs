//! The generated binary's command line, and the systemd unit it prints.
//!
//! Promises: without arguments the daemon runs; `--print-systemd-unit` prints a ready unit made
//! from the code's own configuration ([`Config::systemd_unit`]) and exits 0; `--help` (`-h`) and
//! `--version` (`-V`) print and exit 0; anything else is a usage error: one sentence on stderr
//! and exit status 64 ([`Exit::Usage`]), before any log file is opened or any tick runs.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::config::{Config, SimpleDaemon};
use crate::error::{Error, Exit};
use crate::lifecycle::{self, config_failure};

/// How much longer than `stop_timeout` the printed `TimeoutStopSec=` is: room for the escalation
/// to log, flush (bounded by half a second) and exit before systemd's SIGKILL.
pub const STOP_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Run,
    PrintUnit,
    Help,
    Version,
}

/// Parse the arguments after the program name. `Err` is the usage error's sentence.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Ok(Command::Run);
    };
    let cmd = match first.to_str() {
        Some("--print-systemd-unit") => Command::PrintUnit,
        Some("--help" | "-h") => Command::Help,
        Some("--version" | "-V") => Command::Version,
        _ => {
            return Err(format!(
                "unknown argument {:?}: this daemon takes no arguments to run, or one of --print-systemd-unit, --help, --version",
                first.to_string_lossy()
            ))
        }
    };
    match args.next() {
        None => Ok(cmd),
        Some(extra) => Err(format!(
            "unexpected argument {:?} after {:?}: give one option at a time",
            extra.to_string_lossy(),
            first.to_string_lossy()
        )),
    }
}

/// What `__private::main` runs: handle the command line, else run the daemon.
pub(crate) fn main<D, E, F>(builder: &SimpleDaemon, version: &str, init: F) -> Exit
where
    D: crate::Daemon,
    E: std::fmt::Display,
    F: FnOnce() -> Result<D, E>,
{
    let prog = lifecycle::program();
    let cmd = match parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(sentence) => {
            eprintln!("{prog}: {sentence}.");
            return Exit::Usage;
        }
    };
    if cmd == Command::Run {
        return builder.run_with(init);
    }
    let config = match builder.config() {
        Ok(c) => c,
        Err(e) => return config_failure(&e),
    };
    match cmd {
        Command::Version => println!("{} {version}", config.name()),
        Command::Help => print!("{}", help(&config, &prog, version)),
        Command::PrintUnit => match std::env::current_exe() {
            Ok(exe) => print!("{}", config.systemd_unit(&exe)),
            Err(e) => {
                eprintln!("{prog}: cannot find this binary's own path for ExecStart=: {e}");
                return Exit::Failed;
            }
        },
        Command::Run => {}
    }
    Exit::Stopped
}

fn help(config: &Config, prog: &str, version: &str) -> String {
    let mut h = String::new();
    let name = config.name();
    let _ = writeln!(h, "{name} {version}: a daemon built with simple-daemon.");
    let _ = writeln!(h);
    let _ = writeln!(h, "Usage: {prog} [--print-systemd-unit | --help | --version]");
    let _ = writeln!(h);
    let every = match config.interval() {
        Some(i) => format!("ticks every {}", timespan(i)),
        None => "ticks back to back".to_owned(),
    };
    let _ = writeln!(
        h,
        "Without arguments it runs: {every}; SIGINT/SIGTERM stop it ({} mode), SIGHUP \
         re-opens the log file and reloads.",
        config.mode().to_string().to_lowercase()
    );
    let _ = writeln!(h);
    let _ = writeln!(h, "Options:");
    let _ = writeln!(
        h,
        "  --print-systemd-unit  print a systemd unit (Type=notify) that runs this binary, and exit"
    );
    let _ = writeln!(h, "  -h, --help            print this help, and exit");
    let _ = writeln!(h, "  -V, --version         print the version, and exit");
    let _ = writeln!(h);
    let _ = writeln!(
        h,
        "Install as a service: {prog} --print-systemd-unit > /etc/systemd/system/{name}.service"
    );
    let _ = writeln!(
        h,
        "  then: systemctl daemon-reload && systemctl enable --now {name}"
    );
    h
}

impl Config {
    /// A systemd unit that runs `exec_start` as this daemon: what `--print-systemd-unit` prints
    /// (with the binary's own path).
    ///
    /// `Type=notify` (the daemon sends `READY=1` once started), `ExecReload=` sends SIGHUP,
    /// `KillMode=mixed` (SIGTERM to the daemon, SIGKILL to what is left after the timeout),
    /// `Restart=on-failure` (a tick error, a panic, a watchdog timeout); `WatchdogSec=` when
    /// [`watchdog`](SimpleDaemon::watchdog) is set; `TimeoutStopSec=` [`STOP_TIMEOUT_MARGIN`]
    /// above [`stop_timeout`](SimpleDaemon::stop_timeout) when it is set, so the daemon's own
    /// escalation comes before systemd's SIGKILL.
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
    /// assert!(unit.contains("\nDescription=heartbeat\n"));
    /// assert!(unit.contains("\nType=notify\n"));
    /// assert!(unit.contains("\nExecStart=/usr/local/bin/heartbeat\n"));
    /// assert!(unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"));
    /// assert!(unit.contains("\nWatchdogSec=10s\n"));
    /// assert!(unit.contains("\nTimeoutStopSec=35s\n"));
    /// assert!(unit.contains("\nKillMode=mixed\n"));
    /// assert!(unit.contains("\nRestart=on-failure\n"));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn systemd_unit(&self, exec_start: &Path) -> String {
        let name = self.name();
        let mut u = String::new();
        let _ = writeln!(u, "# {name}: a simple-daemon service (Type=notify).");
        let _ = writeln!(u, "# Install: save as /etc/systemd/system/{name}.service, then");
        let _ = writeln!(u, "#   systemctl daemon-reload && systemctl enable --now {name}");
        let _ = writeln!(u, "[Unit]");
        let _ = writeln!(u, "Description={}", unit_escape(name));
        let _ = writeln!(u);
        let _ = writeln!(u, "[Service]");
        let _ = writeln!(u, "Type=notify");
        let _ = writeln!(u, "ExecStart={}", exec_quote(exec_start));
        let _ = writeln!(u, "ExecReload=/bin/kill -HUP $MAINPID");
        let _ = writeln!(u, "KillMode=mixed");
        let _ = writeln!(u, "Restart=on-failure");
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
        let _ = writeln!(u);
        let _ = writeln!(u, "[Install]");
        let _ = writeln!(u, "WantedBy=multi-user.target");
        u
    }
}

impl SimpleDaemon {
    /// The systemd unit `--print-systemd-unit` prints: [`Config::systemd_unit`] with this
    /// binary's own absolute path as `ExecStart=`.
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
        Ok(config.systemd_unit(&exe))
    }
}

/// A duration in systemd's time-span syntax: whole seconds as `Ns`, else milliseconds (rounded
/// up, so a watchdog or timeout is never shortened).
fn timespan(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_nanos().div_ceil(1_000_000))
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

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_each_option_and_rejects_the_rest() {
        assert_eq!(parse(args(&[])), Ok(Command::Run));
        assert_eq!(parse(args(&["--print-systemd-unit"])), Ok(Command::PrintUnit));
        assert_eq!(parse(args(&["-h"])), Ok(Command::Help));
        assert_eq!(parse(args(&["--version"])), Ok(Command::Version));
        let unknown = parse(args(&["--verbose"])).expect_err("--verbose is not an option");
        assert!(unknown.starts_with("unknown argument \"--verbose\""));
        let two = parse(args(&["--help", "--version"])).expect_err("one option at a time");
        assert!(two.starts_with("unexpected argument \"--version\""));
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

    #[test]
    fn timespans_round_up_to_milliseconds() {
        assert_eq!(timespan(Duration::from_secs(2)), "2s");
        assert_eq!(timespan(Duration::from_micros(2_500_001)), "2501ms");
    }
}
