//! Logging (INTERIM: replaced by the logging issue's fern-based subsystem, same interface).
//!
//! Interface the rest of the crate uses:
//! - [`Template::parse`] checks a line template once, when the configuration is built;
//! - [`install`] opens the sinks and makes them the process's `log` logger;
//! - [`Logger::log_bounded`], [`Logger::flush_bounded`]: used by the signal thread, never block
//!   longer than the deadline on a sink that user code holds;
//! - [`Logger::flush`], [`Logger::reopen`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use log::{Level, Log, Metadata, Record};

use crate::config::Config;
use crate::error::Error;

/// A parsed line template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    raw: String,
}

impl Template {
    pub(crate) fn parse(s: &str) -> Result<Template, String> {
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            let Some(j) = after.find('}') else {
                return Err("unclosed '{'".into());
            };
            let field = &after[..j];
            if !matches!(field, "time" | "name" | "level" | "message" | "pid" | "target") {
                return Err(format!("unknown field {{{field}}}"));
            }
            rest = &after[j + 1..];
        }
        Ok(Template { raw: s.to_owned() })
    }

    fn render(&self, name: &str, level: Level, msg: &str) -> String {
        let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f").to_string();
        self.raw
            .replace("{time}", &time)
            .replace("{name}", name)
            .replace("{level}", level.as_str())
            .replace("{pid}", &std::process::id().to_string())
            .replace("{message}", msg)
    }
}

/// The process's logger.
pub(crate) struct Logger {
    name: String,
    level: log::LevelFilter,
    template: Template,
    path: PathBuf,
    file: Mutex<File>,
    stream: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The installed logger, if any.
pub(crate) fn global() -> Option<&'static Logger> {
    LOGGER.get()
}

fn open(path: &PathBuf) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Open the sinks and install the logger.
pub(crate) fn install(cfg: &Config) -> Result<&'static Logger, Error> {
    let dir = cfg.log_path.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local/state").join(&cfg.name))
            .unwrap_or_else(|| PathBuf::from("."))
    });
    std::fs::create_dir_all(&dir).map_err(|e| Error::path("log_path", &dir, "cannot be created", Some(e)))?;
    let path = dir.join(&cfg.log_name);
    let file = open(&path).map_err(|e| Error::path("log_path", &path, "cannot be opened", Some(e)))?;
    let logger = Logger {
        name: cfg.name.clone(),
        level: cfg.level,
        template: cfg.template.clone(),
        path,
        file: Mutex::new(file),
        stream: cfg.stream,
    };
    if LOGGER.set(logger).is_err() {
        return Err(Error::AlreadyStarted);
    }
    let l = LOGGER.get().ok_or(Error::AlreadyStarted)?;
    log::set_logger(l).map_err(|_| Error::AlreadyStarted)?;
    log::set_max_level(cfg.level);
    Ok(l)
}

impl Logger {
    fn write_line(&self, file: &mut File, level: Level, msg: &str) {
        let mut line = self.template.render(&self.name, level, msg);
        line.push('\n');
        let _ = file.write_all(line.as_bytes());
        if self.stream {
            let _ = io::stdout().write_all(line.as_bytes());
        }
    }

    /// Log without waiting longer than `deadline` for a sink user code holds.
    pub(crate) fn log_bounded(&self, level: Level, args: fmt::Arguments<'_>, deadline: Instant) {
        if level > self.level {
            return;
        }
        loop {
            match self.file.try_lock() {
                Ok(mut f) => return self.write_line(&mut f, level, &args.to_string()),
                Err(TryLockError::Poisoned(p)) => {
                    return self.write_line(&mut p.into_inner(), level, &args.to_string())
                }
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(TryLockError::WouldBlock) => return,
            }
        }
    }

    /// Flush every sink.
    pub(crate) fn flush(&self) {}

    /// Flush every sink, giving up at `deadline`.
    pub(crate) fn flush_bounded(&self, _deadline: Instant) {}

    /// Re-open the log file (SIGHUP).
    pub(crate) fn reopen(&self) -> io::Result<()> {
        let f = open(&self.path)?;
        *self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = f;
        Ok(())
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level
    }
    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            let mut f = self
                .file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.write_line(&mut f, r.level(), &r.args().to_string());
        }
    }
    fn flush(&self) {}
}
