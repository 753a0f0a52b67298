//! The process's logger: the [`Sinks`] behind a read-write lock, so that a reload can replace
//! them (the directives, the format, the file at its new path, the sockets) while other
//! threads log.
//!
//! Promises: a record takes the read lock once, and nothing waits for a writer: the reload
//! never blocks on the lock ([`Logger::reconfigure`] tries it for a bounded time and refuses
//! when busy), so a record logged from inside a record (a message's `Display`) cannot deadlock;
//! the bounded paths (signal thread, panic hook, exit) never wait past their deadline for it;
//! the new sinks are opened before the lock is taken, so a failure leaves the old ones in
//! place, and the old ones are flushed, then closed, after it is released.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use log::{Level, Log, Metadata, Record};

use super::{Entry, Sinks};
use crate::config::Config;
use crate::error::Error;

/// How long a reload tries to take the sinks from the threads that log.
#[cfg_attr(not(feature = "config"), allow(dead_code))]
const SWAP_WAIT: Duration = Duration::from_secs(1);
/// How long `reopen` (SIGHUP, on the signal thread) waits for the sinks.
const REOPEN_WAIT: Duration = Duration::from_millis(500);

/// The process's logger.
pub(crate) struct Logger {
    sinks: RwLock<Sinks>,
}

impl Logger {
    pub(super) fn new(sinks: Sinks) -> Logger {
        Logger {
            sinks: RwLock::new(sinks),
        }
    }

    fn sinks(&self) -> RwLockReadGuard<'_, Sinks> {
        self.sinks.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sinks, unless a reload holds them past `deadline`.
    fn sinks_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, Sinks>> {
        loop {
            match self.sinks.try_read() {
                Ok(g) => return Some(g),
                Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }

    /// Whether a record of `level` for `target` passes the directives.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn enabled(&self, level: Level, target: &str) -> bool {
        self.sinks().enabled(level, target)
    }

    /// Whether a `log` record passes the directives.
    pub(super) fn enabled_record(&self, record: &Record<'_>) -> bool {
        self.sinks().filter.enabled_record(record)
    }

    /// The most verbose level any directive lets through.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn max_level(&self) -> log::LevelFilter {
        self.sinks().max_level()
    }

    /// One of the framework's lifecycle lines (see [`lifecycle`](super::lifecycle)).
    pub(super) fn lifecycle(&self, level: Level, args: fmt::Arguments<'_>) {
        let s = self.sinks();
        if level <= s.filter.lifecycle() {
            s.own(level, args, None, super::To::All);
        }
    }

    /// Write one record to every sink (the caller checked [`enabled`](Self::enabled)).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn write(&self, entry: &Entry<'_>) {
        self.sinks().write(entry);
    }

    /// Log without waiting past `deadline` for a sink another thread holds.
    pub(crate) fn log_bounded(&self, level: Level, args: fmt::Arguments<'_>, deadline: Instant) {
        if let Some(s) = self.sinks_until(deadline) {
            s.log_bounded(level, args, deadline);
        }
    }

    /// The sink left out so that records reach the journal once, and why: a start line.
    pub(crate) fn one_path(&self) -> Option<String> {
        self.sinks().one_path().map(str::to_owned)
    }

    /// The log file's path.
    pub(crate) fn file_path(&self) -> PathBuf {
        self.sinks().file_path().to_path_buf()
    }

    /// Write out every buffered line (see [`Sinks::flush`]).
    pub(crate) fn flush(&self) {
        self.sinks().flush();
    }

    /// The final flush of an exit path (see [`Sinks::flush_bounded`]).
    pub(crate) fn flush_bounded(&self, deadline: Instant) {
        if let Some(s) = self.sinks_until(deadline) {
            s.flush_bounded(deadline);
        }
    }

    /// Tell the other sinks of the datagrams still being dropped (see [`Sinks::report_drops`]),
    /// without waiting past `deadline`.
    pub(crate) fn report_drops(&self, deadline: Instant) {
        if let Some(s) = self.sinks_until(deadline) {
            s.report_drops(deadline);
        }
    }

    /// Re-open the log file at its path (SIGHUP; see [`Sinks::reopen`]).
    ///
    /// # Errors
    ///
    /// As [`Sinks::reopen`]; `WouldBlock` when a reload holds the sinks.
    pub(crate) fn reopen(&self) -> io::Result<()> {
        match self.sinks_until(Instant::now() + REOPEN_WAIT) {
            Some(s) => s.reopen(),
            None => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "a reload holds the log sinks; the log file was not re-opened",
            )),
        }
    }

    /// Replace the sinks with those `cfg` asks for (a reload): the directives, the format, the
    /// file (at its new path, with its limits), stdout, syslog and the journal. The daemon's
    /// name and pid stay as they are.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] for a path or socket that cannot be used, or when the threads that log
    /// hold the sinks longer than a second; the old sinks stay in use.
    #[cfg_attr(not(feature = "config"), allow(dead_code))] // a reload of the operator's file
    pub(crate) fn reconfigure(&self, cfg: &Config) -> Result<(), Error> {
        let (name, pid) = {
            let s = self.sinks();
            (s.name.clone(), s.pid.clone())
        };
        let mut fresh = Sinks::open(cfg)?;
        fresh.name = name;
        fresh.pid = pid;
        let give_up = Instant::now() + SWAP_WAIT;
        let old = loop {
            match self.sinks.try_write() {
                Ok(mut g) => break std::mem::replace(&mut *g, fresh),
                Err(TryLockError::Poisoned(p)) => break std::mem::replace(&mut *p.into_inner(), fresh),
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= give_up {
                        return Err(Error::path(
                            "log_path",
                            cfg.log_path.clone().unwrap_or_default(),
                            "could not be switched to: the threads that log held the sinks for a second",
                            None,
                        ));
                    }
                    thread::sleep(Duration::from_millis(1));
                }
            }
        };
        log::set_max_level(self.max_level());
        // The old file's buffered lines are written before it is closed.
        old.flush();
        drop(old);
        #[cfg(feature = "tracing")]
        super::tracing::ready();
        Ok(())
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.sinks().enabled(metadata.level(), metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        self.sinks().log(record);
    }

    fn flush(&self) {
        Logger::flush(self);
    }
}
