//! `--check-config`'s report: the resolved configuration, one key a line in TOML, each with
//! where its value came from (`built-in`, `file`, `RUST_LOG`), then the log file a start would
//! open and the `[settings]` table.

use std::fmt::Write as _;
use std::path::Path;

use super::keys::{Live, KEYS};
use super::Config;
use crate::error::Error;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    BuiltIn,
    File,
    RustLog,
}

impl Origin {
    fn word(self) -> &'static str {
        match self {
            Origin::BuiltIn => "built-in",
            Origin::File => "file",
            Origin::RustLog => "RUST_LOG",
        }
    }
}

/// Where the value of `key` in `config` came from.
pub(crate) fn origin(config: &Config, key: &str) -> Origin {
    if key == "level" && config.from_rust_log {
        Origin::RustLog
    } else if config.operator.from_file.contains(&key) {
        Origin::File
    } else {
        Origin::BuiltIn
    }
}

/// The report `--check-config` prints for a configuration that passed every check.
pub(crate) fn report(config: &Config) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# {}: the configuration a start would use", config.name);
    match &config.operator.file {
        Some(f) => {
            let _ = writeln!(r, "# configuration file: {}", f.display());
        }
        None => {
            let _ = writeln!(r, "# no configuration file");
        }
    }
    let _ = writeln!(
        r,
        "# precedence: built-in, then the file, then RUST_LOG for the level"
    );
    let Some(b) = config.operator.resolved.as_deref() else {
        return r;
    };
    for key in KEYS {
        let from = origin(config, key.name);
        let value = if key.name == "level" {
            Some(super::keys::quoted(&config.directives))
        } else {
            (key.show)(b)
        };
        let restart = if key.live == Live::Restart {
            ", needs a restart to change"
        } else {
            ""
        };
        let line = match value {
            Some(v) => format!("{} = {v}", key.name),
            None => format!("# {} is not set", key.name),
        };
        let _ = writeln!(r, "{line:<44} # {}{restart}", from.word());
    }
    match crate::logging::log_dir(config) {
        Ok((dir, how)) => {
            let _ = writeln!(
                r,
                "# log file: {} ({})",
                dir.join(&config.log_name).display(),
                how.describe()
            );
        }
        Err(e) => {
            let _ = writeln!(r, "# log file: none can be used: {e}");
        }
    }
    if let Some(settings) = &config.operator.settings {
        let _ = writeln!(r, "[settings] # file");
        r.push_str(settings);
    }
    r
}

/// What a start checks beyond the values, without writing anything: the log directory (it or
/// the nearest existing parent must be a writable directory), the log file (not a symbolic
/// link, writable when it exists), and the syslog and journal sockets when they are on.
///
/// # Errors
///
/// [`Error::Path`] naming the setting and the path that a start would fail on.
pub(crate) fn check(config: &Config) -> Result<(), Error> {
    let (dir, _) = crate::logging::log_dir(config)?;
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("/"));
    if !existing.is_dir() {
        return Err(Error::path("log_path", existing, "is not a directory", None));
    }
    if !writable(existing) {
        let what = if existing == dir {
            "is not writable"
        } else {
            "is not writable, so the log directory cannot be created in it"
        };
        return Err(Error::path("log_path", existing, what, None));
    }
    let file = dir.join(&config.log_name);
    if let Ok(m) = std::fs::symlink_metadata(&file) {
        if m.file_type().is_symlink() {
            return Err(Error::path(
                "log_name",
                &file,
                "is a symbolic link, which is never followed",
                None,
            ));
        }
        if !writable(&file) {
            return Err(Error::path("log_name", &file, "is not writable", None));
        }
    }
    let sockets = [
        (config.syslog, "syslog", &config.syslog_socket),
        (config.journal, "journal", &config.journal_socket),
    ];
    for (on, setting, socket) in sockets {
        if !on {
            continue;
        }
        match std::fs::metadata(socket) {
            Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {}
            Ok(_) => return Err(Error::path(setting, socket, "is not a socket", None)),
            Err(e) => return Err(Error::path(setting, socket, "cannot be used", Some(e))),
        }
    }
    Ok(())
}

/// `access(2)` with `W_OK`: whether this process may write `path`.
fn writable(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}
