//! The generated binary's command line.
//!
//! Promises: without arguments the daemon runs; `--config PATH` (feature `config`) names the
//! operator's file for a run, `--check-config` or a print; `--check-config` checks what a start
//! would (the file, the paths, the sockets, the settings), prints the resolved configuration and
//! exits 0, or 78 with one sentence, writing nothing; `--print-systemd-unit` and `--print-kubernetes`
//! print a ready unit or Deployment made from the code's own configuration
//! ([`Config::systemd_unit`], [`Config::kubernetes_manifest`], in `print/`) and exit 0;
//! `--help` (`-h`) and `--version` (`-V`) print and exit 0; anything else is a usage error: one sentence on stderr
//! and exit status 64 ([`Exit::Usage`]), before any log file is opened or any tick runs.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use crate::config::{Config, SimpleDaemon};
use crate::error::{program, Exit};
use crate::lifecycle::config_failure;
use crate::print::timespan;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Run,
    PrintUnit,
    PrintKubernetes,
    CheckConfig,
    Help,
    Version,
}

/// The parsed command line: what to do, and `--config PATH` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) command: Command,
    pub(crate) config: Option<PathBuf>,
}

const OPTIONS: &str =
    "--config PATH, --check-config, --print-systemd-unit, --print-kubernetes, --help, --version";

/// Parse the arguments after the program name. `Err` is the usage error's sentence.
///
/// `--config PATH` (or `--config=PATH`) goes with a run, `--check-config` or
/// `--print-systemd-unit`; the other options stand alone, one at a time.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let mut command: Option<(Command, String)> = None;
    let mut config = None;
    while let Some(arg) = args.next() {
        let shown = arg.to_string_lossy().into_owned();
        let cmd = match arg.to_str() {
            Some("--print-systemd-unit") => Command::PrintUnit,
            Some("--print-kubernetes") => Command::PrintKubernetes,
            Some("--check-config") => Command::CheckConfig,
            Some("--help" | "-h") => Command::Help,
            Some("--version" | "-V") => Command::Version,
            Some("--config") => {
                let path = args
                    .next()
                    .ok_or_else(|| "--config needs a path: --config /etc/my-daemon.toml".to_owned())?;
                set_config(&mut config, PathBuf::from(path))?;
                continue;
            }
            _ => match std::os::unix::ffi::OsStrExt::as_bytes(arg.as_os_str()).strip_prefix(b"--config=") {
                Some(path) => {
                    let path = PathBuf::from(std::ffi::OsStr::from_bytes(path));
                    set_config(&mut config, path)?;
                    continue;
                }
                None => {
                    return Err(format!(
                        "unknown argument {shown:?}: this daemon takes no arguments to run, or {OPTIONS}"
                    ))
                }
            },
        };
        if let Some((_, first)) = &command {
            return Err(format!(
                "unexpected argument {shown:?} after {first:?}: give one option at a time"
            ));
        }
        command = Some((cmd, shown));
    }
    let command = command.map_or(Command::Run, |(c, _)| c);
    if config.is_some() && matches!(command, Command::Help | Command::Version) {
        return Err(
            "--config goes with a run, --check-config, --print-systemd-unit or --print-kubernetes".to_owned(),
        );
    }
    if config.is_some() && !cfg!(feature = "config") {
        return Err(
            "--config needs the feature \"config\" of simple-daemon, which this daemon was built without"
                .to_owned(),
        );
    }
    Ok(Parsed { command, config })
}

fn set_config(slot: &mut Option<PathBuf>, path: PathBuf) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("--config needs a path: --config /etc/my-daemon.toml".to_owned());
    }
    if slot.replace(path).is_some() {
        return Err("--config is given twice: give one configuration file".to_owned());
    }
    Ok(())
}

/// What [`SimpleDaemon::main`] runs: handle the command line, else run the daemon.
/// `run` runs the daemon (the sync or the async driver).
pub(crate) fn main(builder: &SimpleDaemon, run: impl FnOnce(&SimpleDaemon) -> Exit) -> Exit {
    let prog = program();
    let parsed = match parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(sentence) => {
            eprintln!("{prog}: {sentence}.");
            return Exit::Usage;
        }
    };
    let mut builder = builder.clone();
    builder.cli_config = parsed.config;
    if parsed.command == Command::Run {
        return run(&builder);
    }
    let config = match parsed.command {
        // What the binary is and how to use it does not depend on the operator's file.
        Command::Help | Command::Version => builder.check(),
        _ => builder.config(),
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => return config_failure(&e),
    };
    if config.operator.base.is_none() {
        config.operator.base = Some(Box::new(builder.clone()));
    }
    match parsed.command {
        Command::Version => println!("{}", name_version(&config)),
        Command::Help => print!("{}", help(&config, &prog)),
        Command::CheckConfig => {
            if let Err(e) = crate::config::show::check(&config) {
                return config_failure(&e);
            }
            print!("{}", crate::config::show::report(&config));
        }
        Command::PrintUnit => match std::env::current_exe() {
            Ok(exe) => print!(
                "{}",
                config.systemd_unit_for(&exe, crate::print::host_systemd_version())
            ),
            Err(e) => {
                eprintln!("{prog}: cannot find this binary's own path for ExecStart=: {e}");
                return Exit::Failed;
            }
        },
        Command::PrintKubernetes => print!("{}", config.kubernetes_manifest()),
        Command::Run => {}
    }
    Exit::Stopped
}

/// `MyDaemon 1.2.0`, or the name alone when no version was given.
fn name_version(config: &Config) -> String {
    match config.version() {
        Some(v) => format!("{} {v}", config.name()),
        None => config.name().to_owned(),
    }
}

fn help(config: &Config, prog: &str) -> String {
    let mut h = String::new();
    let name = config.name();
    let _ = writeln!(h, "{}: a daemon built with simple-daemon.", name_version(config));
    let _ = writeln!(h);
    let _ = writeln!(
        h,
        "Usage: {prog} [--config PATH] [--check-config | --print-systemd-unit | --print-kubernetes] | --help | --version"
    );
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
    let _ = write!(h, "{}", log_location(config));
    let _ = writeln!(h);
    let _ = writeln!(h, "Options:");
    let _ = writeln!(
        h,
        "  --config PATH         read the operator's configuration file PATH (TOML: the keys, and [settings])"
    );
    if let Some(f) = config.operator.base.as_ref().and_then(|b| b.config_file.as_ref()) {
        let _ = writeln!(
            h,
            "                        (without it: {}, when that file exists)",
            f.display()
        );
    }
    let _ = writeln!(
        h,
        "  --check-config        check the configuration as a start would, print it with where each value came from, and exit"
    );
    let _ = writeln!(
        h,
        "  --print-systemd-unit  print a systemd unit (Type=notify, notify-reload from systemd 253) that runs this binary, and exit"
    );
    let _ = writeln!(
        h,
        "  --print-kubernetes    print a Kubernetes Deployment (probes, grace period) for this daemon, and exit"
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

/// Where the log goes, for `--help`: the file this run would use here (by the location chain,
/// creating nothing), the other sinks, and the chain itself.
fn log_location(config: &Config) -> String {
    let mut h = String::new();
    let file = match crate::logging::log_dir(config) {
        Ok((dir, origin)) => format!(
            "{} (here: {})",
            dir.join(config.log_name()).display(),
            origin.describe()
        ),
        Err(e) => format!("none could be chosen here: {e}"),
    };
    let _ = writeln!(h, "Log file: {file}.");
    if config.stream {
        let _ = writeln!(h, "It logs to stdout too (stream).");
    }
    if config.syslog {
        let _ = writeln!(
            h,
            "It logs to syslog too, at {} (syslog).",
            config.syslog_socket.display()
        );
    }
    if config.journal {
        let _ = writeln!(
            h,
            "It logs to the journal too, at {} (journal).",
            config.journal_socket.display()
        );
    }
    if config.stream && (config.syslog || config.journal) {
        let _ = writeln!(
            h,
            "Under systemd (stdout the journal stream), stdout writes nothing: the journal gets each line once."
        );
    }
    if config.log_path.is_none() {
        let _ = writeln!(
            h,
            "The log directory is $LOGS_DIRECTORY (systemd's LogsDirectory=, which the printed unit \
             sets), else /var/log when writable, else $XDG_STATE_HOME/{name}/ \
             (~/.local/state/{name}/).",
            name = config.name()
        );
    }
    h
}

impl SimpleDaemon {
    /// The generated binary's `main`: the command line, then [`run_with`](Self::run_with)`(init)`.
    ///
    /// Without arguments the daemon runs. `--help` (`-h`), `--version` (`-V`, with
    /// [`version`](Self::version)), `--print-systemd-unit` ([`Config::systemd_unit`]) and
    /// `--print-kubernetes` ([`Config::kubernetes_manifest`]) print and exit 0; any other argument is one sentence on stderr and [`Exit::Usage`] (64), before
    /// any log file is opened. It is what `#[daemon]` expands to, so a daemon whose type lives in
    /// a library (where `tests/` and other binaries can use it) keeps the same binary:
    ///
    /// ```no_run
    /// # mod poller {
    /// #     use simple_daemon::{Context, Daemon};
    /// #     pub struct Poller { pub polls: u64 }
    /// #     impl Poller {
    /// #         pub fn new() -> std::io::Result<Self> { Ok(Poller { polls: 0 }) }
    /// #     }
    /// #     impl Daemon for Poller {
    /// #         type Error = std::io::Error;
    /// #         fn tick(&mut self, _ctx: &Context) -> std::io::Result<()> { self.polls += 1; Ok(()) }
    /// #     }
    /// # }
    /// # use poller as mylib;
    /// // src/main.rs of a package whose src/lib.rs defines `Poller` and its `impl Daemon`
    /// use simple_daemon::{Exit, SimpleDaemon};
    ///
    /// fn main() -> Exit {
    ///     SimpleDaemon::new("Poller")
    ///         .version(env!("CARGO_PKG_VERSION"))
    ///         .main(mylib::Poller::new)
    /// }
    /// ```
    ///
    /// `init` is what [`run_with`](Self::run_with) takes: a function returning
    /// `Result<D, E>` (`E: Display`), called after logging is up and before `READY=1`.
    pub fn main<D, E, F>(&self, init: F) -> Exit
    where
        D: crate::Daemon,
        E: std::fmt::Display,
        F: FnOnce() -> Result<D, E>,
    {
        main(self, |b| b.run_with(init))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_each_option_and_rejects_the_rest() {
        let cmd = |a: &[&str]| parse(args(a)).map(|p| p.command);
        assert_eq!(cmd(&[]), Ok(Command::Run));
        assert_eq!(cmd(&["--print-systemd-unit"]), Ok(Command::PrintUnit));
        assert_eq!(cmd(&["--print-kubernetes"]), Ok(Command::PrintKubernetes));
        assert_eq!(cmd(&["--check-config"]), Ok(Command::CheckConfig));
        assert_eq!(cmd(&["-h"]), Ok(Command::Help));
        assert_eq!(cmd(&["--version"]), Ok(Command::Version));
        if cfg!(feature = "config") {
            let p = parse(args(&["--config", "/etc/x.toml", "--check-config"])).expect("both");
            assert_eq!(p.command, Command::CheckConfig);
            assert_eq!(p.config, Some(PathBuf::from("/etc/x.toml")));
            let p = parse(args(&["--config=/etc/x.toml"])).expect("a run");
            assert_eq!(
                (p.command, p.config),
                (Command::Run, Some(PathBuf::from("/etc/x.toml")))
            );
            assert!(parse(args(&["--config"])).is_err());
            assert!(parse(args(&["--config", "a", "--config", "b"])).is_err());
        } else {
            let off = parse(args(&["--config", "/etc/x.toml"])).expect_err("no feature");
            assert!(off.contains("feature \"config\""), "{off}");
        }
        let unknown = parse(args(&["--verbose"])).expect_err("--verbose is not an option");
        assert!(unknown.starts_with("unknown argument \"--verbose\""));
        let two = parse(args(&["--help", "--version"])).expect_err("one option at a time");
        assert!(two.starts_with("unexpected argument \"--version\""));
    }

    #[test]
    fn version_prints_the_name_and_the_version_given_or_the_name_alone() {
        let with = SimpleDaemon::new("Poller")
            .version("1.2.0")
            .config()
            .expect("config");
        assert_eq!(name_version(&with), "Poller 1.2.0");
        let without = SimpleDaemon::new("Poller").config().expect("config");
        assert_eq!(name_version(&without), "Poller");
    }
}
