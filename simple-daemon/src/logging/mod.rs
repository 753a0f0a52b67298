//! Logging: `log` records, dispatched by `fern`, to a size-rotating file, stdout, syslog and the
//! journal.
//!
//! Promises:
//! - [`install`] claims the process's `log` slot before anything else (another logger there is
//!   [`Error::LoggerInstalled`], with nothing created on disk), opens every configured sink (or
//!   returns the [`Error`] naming the setting and path at fault), installs a `fern::Dispatch`
//!   filtered at the configured level behind that slot, and is done once per process;
//! - each record is formatted ONCE per sink into one buffer (a per-thread buffer, no allocation
//!   per line once warm) and reaches each sink whole: one `write(2)` for the file and stdout, one
//!   datagram for syslog, one entry for the journal; records from many threads never interleave
//!   inside a line;
//! - ONE path into the journal: when stdout is the journal stream (`$JOURNAL_STREAM`) and
//!   `syslog` or `journal` is on, `stream` writes nothing, and when `journal` is on and the
//!   syslog socket is journald's own (`/dev/log` under systemd), `syslog` sends nothing; each
//!   record is in the journal once, and [`Logger::one_path`] says which sink was left out;
//! - user code (a message's `Display`) runs before any sink lock is taken, so a panicking or
//!   logging `Display` cannot deadlock a sink;
//! - [`Logger::log_bounded`] and [`Logger::flush_bounded`] (signal thread, panic hook, exit)
//!   never wait past their deadline for a sink another thread holds: that sink is skipped;
//! - buffered mode writes out on a 100 ms timer, on [`Logger::flush`], and at process exit
//!   (`atexit`), besides the explicit flushes of every exit path; those exit flushes
//!   ([`Logger::flush_bounded`]) are final: under each sink's lock they
//!   also switch it to direct writes, so a record another thread logs while the process ends is
//!   written at once instead of left in a buffer;
//! - a file that cannot be written (disk full, ...) costs no half line, and is reported by ONE
//!   warning on the other sinks (on stderr when there are none), not one per record;
//! - [`Logger::reopen`] (SIGHUP) re-opens the file at its path, losing no line, and waits a
//!   bounded time for a writer that holds the file.
//!
//! - records are filtered by the directives ([`filter`]) before anything is formatted, and a
//!   record's key-value fields ([`record`]) reach every sink: the file and stdout in the line's
//!   format, syslog (and the journal stream's message) as ` key=value` after the message, the
//!   journal as fields of the entry.
//!
//! Modules: [`filter`] (directives), [`record`] (the record and its typed fields),
//! [`format`](mod@format) (text and JSON templates, cached time stamps), [`rotate`] (the rotation rules, by size and by time),
//! `compress` (gzip of rotated files on a background thread, feature `compress`), [`file`](mod@file) (location, safe open, the file sink), [`stdout`] (journal prefix), [`syslog`]
//! (RFC 3164), [`journal`] (journald's native protocol), [`dgram`] (the bounded, reconnecting
//! datagram sender both use).

#[cfg(feature = "compress")]
mod compress;
#[cfg(not(feature = "compress"))]
#[path = "compress_off.rs"]
mod compress;
mod dgram;
mod file;
pub(crate) mod filter;
pub(crate) mod format;
mod journal;
mod live;
pub(crate) mod record;
pub(crate) mod rotate;
mod stdout;
mod syslog;
#[cfg(feature = "tracing")]
mod tracing;

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use log::{Level, Log, Metadata, Record};

use crate::config::Config;
use crate::error::Error;

use dgram::Event;
pub(crate) use file::choose as log_dir;
use filter::Filter;
use format::{Clock, Line, Now, Template};
pub(crate) use journal::DEFAULT_JOURNAL_SOCKET;
pub(crate) use live::Logger;
#[allow(unused_imports)] // for the bridges (`tracing`)
pub(crate) use record::{Entry, Field, Value};
pub(crate) use stdout::is_journal;

/// journald's syslog socket, where `/dev/log` leads under systemd.
const JOURNALD_DEV_LOG: &str = "/run/systemd/journal/dev-log";

/// How often buffered mode writes out.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How long the `atexit` flush waits for a sink another thread holds.
const EXIT_FLUSH_WAIT: Duration = Duration::from_millis(500);
/// The target of the daemon's own lines (they have no `log::Record`): the lifecycle lines and
/// the sinks' warnings.
const OWN_TARGET: &str = filter::LIFECYCLE_TARGET;

/// The sinks and how lines look: what the process's [`Logger`] holds, and a reload replaces.
pub(crate) struct Sinks {
    filter: Filter,
    template: Template,
    name: String,
    pid: String,
    file: file::FileSink,
    stdout: Option<stdout::StdoutSink>,
    syslog: Option<syslog::SyslogSink>,
    journal: Option<journal::JournalSink>,
    /// The sink left out so that records reach the journal once, and why (a start line).
    one_path: Option<String>,
}

/// How many records were logged, by level (`Error` first): one relaxed increment per record,
/// read by the metrics (`simple_daemon_log_records_total`).
static RECORDS: [std::sync::atomic::AtomicU64; 5] = [const { std::sync::atomic::AtomicU64::new(0) }; 5];

/// The records logged so far, by level, `Error` first.
#[allow(dead_code)] // read by the admin listener (feature `admin`)
pub(crate) fn record_counts() -> [u64; 5] {
    RECORDS
        .each_ref()
        .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The installed logger, if any.
pub(crate) fn global() -> Option<&'static Logger> {
    LOGGER.get()
}

/// What the process's `log` slot holds once [`claim`] took it: it forwards every record to the
/// dispatch [`install`] builds, and drops records until then.
struct Forward;

/// The `fern` dispatch behind [`Forward`], set once by [`install`].
static DISPATCH: OnceLock<Box<dyn Log>> = OnceLock::new();

impl Log for Forward {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        DISPATCH.get().is_some_and(|d| d.enabled(metadata))
    }

    fn log(&self, record: &Record<'_>) {
        // The directives first: a disabled target costs this check and nothing more.
        if LOGGER.get().is_some_and(|l| !l.enabled_record(record)) {
            return;
        }
        if let Some(d) = DISPATCH.get() {
            d.log(record);
        }
    }

    fn flush(&self) {
        if let Some(d) = DISPATCH.get() {
            d.flush();
        }
    }
}

/// Take the process's `log` slot for [`Forward`], once; a later call (a start that failed after
/// this step and is tried again) finds it ours.
///
/// # Errors
///
/// [`Error::LoggerInstalled`] when another logger holds the slot.
fn claim() -> Result<(), Error> {
    static OURS: OnceLock<bool> = OnceLock::new();
    if *OURS.get_or_init(|| log::set_logger(&Forward).is_ok()) {
        Ok(())
    } else {
        Err(Error::LoggerInstalled)
    }
}

/// Open the sinks `cfg` asks for and install them as the process's `log` logger.
///
/// The process's `log` slot is claimed first, so a conflict with another logger leaves nothing
/// on disk.
///
/// # Errors
///
/// [`Error::AlreadyStarted`] when a daemon's logger is already installed in this process;
/// [`Error::LoggerInstalled`] when another `log` logger is; [`Error::SubscriberInstalled`] when
/// another `tracing` subscriber is (feature `tracing`); [`Error::Path`] naming the log
/// directory, log file or syslog socket that cannot be used.
impl Sinks {
    /// Open the sinks `cfg` asks for.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] naming the log directory, log file or socket that cannot be used.
    pub(super) fn open(cfg: &Config) -> Result<Sinks, Error> {
        let pid = std::process::id();
        let journal = if cfg.journal {
            Some(journal::JournalSink::connect(
                &cfg.journal_socket,
                &cfg.name,
                pid,
            )?)
        } else {
            None
        };
        // Under systemd, `/dev/log` is journald's: with `journal` on, syslog would be a second copy.
        let syslog_is_journald = cfg.journal
            && std::fs::canonicalize(&cfg.syslog_socket).is_ok_and(|p| p == Path::new(JOURNALD_DEV_LOG));
        let syslog = if cfg.syslog && !syslog_is_journald {
            Some(syslog::SyslogSink::connect(&cfg.syslog_socket, &cfg.name, pid)?)
        } else {
            None
        };
        let stdout_is_journal = cfg.stream && stdout::is_journal(1) && (cfg.syslog || cfg.journal);
        let one_path = if stdout_is_journal {
            let by = if cfg.journal { "journal" } else { "syslog" };
            Some(format!(
            "stdout is the journal stream and {by} is on: records reach the journal once, through {by}; stream writes nothing"
        ))
        } else if cfg.syslog && syslog_is_journald {
            Some(format!(
            "syslog socket {:?} is journald's and journal is on: records reach the journal once, through journal; syslog sends nothing",
            cfg.syslog_socket.display().to_string()
        ))
        } else {
            None
        };
        let file = file::FileSink::open(cfg)?;
        Ok(Sinks {
            filter: cfg.filter.clone(),
            template: cfg.template.clone(),
            name: cfg.name.clone(),
            pid: pid.to_string(),
            file,
            stdout: (cfg.stream && !stdout_is_journal).then(|| stdout::StdoutSink::new(cfg.buffered)),
            syslog,
            journal,
            one_path,
        })
    }
}

pub(crate) fn install(cfg: &Config) -> Result<&'static Logger, Error> {
    if LOGGER.get().is_some() {
        return Err(Error::AlreadyStarted);
    }
    claim()?;
    #[cfg(feature = "tracing")]
    tracing::claim()?;
    let logger = Logger::new(Sinks::open(cfg)?);
    LOGGER.set(logger).map_err(|_| Error::AlreadyStarted)?;
    let logger = LOGGER.get().ok_or(Error::AlreadyStarted)?;
    let sinks: &'static dyn Log = logger;
    let (max, dispatch) = fern::Dispatch::new()
        // Every level: the directives (which a reload may change) filter before this.
        .level(log::LevelFilter::Trace)
        .chain(sinks)
        .into_log();
    DISPATCH.set(dispatch).map_err(|_| Error::AlreadyStarted)?;
    log::set_max_level(max.min(logger.max_level()));
    #[cfg(feature = "tracing")]
    tracing::ready();
    // SAFETY: `flush_at_exit` is an `extern "C" fn()` that never unwinds.
    unsafe { libc::atexit(flush_at_exit) };
    if cfg.buffered {
        let spawned = thread::Builder::new()
            .name("simple-daemon-log-flush".into())
            .spawn(move || loop {
                thread::sleep(FLUSH_EVERY);
                logger.flush();
            });
        if let Err(e) = spawned {
            log::warn!("cannot start the log flush timer ({e}); lines are written when 64 KiB are buffered and at exit");
        }
    }
    Ok(logger)
}

extern "C" fn flush_at_exit() {
    if let Some(l) = global() {
        // No last word on drops here: the exit path said it before its last line, and this
        // thread's buffers may be gone already.
        l.flush_bounded(Instant::now() + EXIT_FLUSH_WAIT);
    }
}

/// Lock `m`; with a `deadline`, try until then (with short sleeps) and give `None` after. A
/// poisoned lock is used anyway: a sink's state is consistent between records.
pub(crate) fn lock_until<T>(m: &Mutex<T>, deadline: Option<Instant>) -> Option<MutexGuard<'_, T>> {
    let Some(deadline) = deadline else {
        return Some(m.lock().unwrap_or_else(PoisonError::into_inner));
    };
    let mut spins = 0u32;
    loop {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return None;
                }
                spins += 1;
                if spins < 16 {
                    thread::yield_now();
                } else {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
}

/// Log one of the framework's lifecycle lines (start-up, stop, reload: the operator's record),
/// under [`Filter::lifecycle`]: the default level does not hide them below `info`
/// (`RUST_LOG=warn` keeps `Log level: warn (from RUST_LOG)`), a directive naming the target
/// `simple_daemon` does. They bypass `log`'s max level, so a quiet default costs the user's
/// records nothing.
pub(crate) fn lifecycle(level: Level, args: fmt::Arguments<'_>) {
    if let Some(l) = global() {
        l.lifecycle(level, args);
    }
}

/// Write one line on stderr with `write(2)`, for the failures no sink can report.
pub(crate) fn stderr_line(args: fmt::Arguments<'_>) {
    let mut line = Vec::with_capacity(128);
    format::write_args(&mut line, args);
    line.push(b'\n');
    // SAFETY: the pointer and length describe the live vector `line`.
    let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

/// Per-thread buffers, so a record costs no allocation once they have grown.
struct Scratch {
    line: Vec<u8>,
    aux: Vec<u8>,
    msg: Vec<u8>,
    clock: Clock,
}

impl Scratch {
    const fn new() -> Scratch {
        Scratch {
            line: Vec::new(),
            aux: Vec::new(),
            msg: Vec::new(),
            clock: Clock::new(),
        }
    }

    /// Give memory back after a huge record.
    fn trim(&mut self) {
        for b in [&mut self.line, &mut self.aux, &mut self.msg] {
            if b.capacity() > 64 * 1024 {
                *b = Vec::new();
            }
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// Run `f` with this thread's buffers, or fresh ones when they are in use (a record logged from
/// inside a message's `Display`, or the panic hook interrupting a record) or gone (thread exit).
fn with_scratch<R: Default>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    let _ = SCRATCH.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            if let Some(f) = f.take() {
                out = Some(f(&mut s));
                s.trim();
            }
        }
    });
    match f {
        Some(f) => f(&mut Scratch::new()),
        None => out.unwrap_or_default(),
    }
}

/// Which sinks a record goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    All,
    /// Not syslog: for the warning that syslog is lost.
    AllButSyslog,
    /// Not the file: for the warning that the file cannot be written.
    AllButFile,
    /// Not the journal: for the warning that the journal socket is lost.
    AllButJournal,
}

impl Sinks {
    /// Whether a record of `level` for `target` passes the directives (for a bridge that makes
    /// its own [`Entry`], e.g. `tracing`'s).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn enabled(&self, level: Level, target: &str) -> bool {
        self.filter.enabled(level, target)
    }

    /// The most verbose level any directive lets through.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn max_level(&self) -> log::LevelFilter {
        self.filter.max()
    }

    /// Write one record to every sink, as a `log` record is (the caller checked
    /// [`enabled`](Self::enabled)).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the bridges
    pub(crate) fn write(&self, entry: &Entry<'_>) {
        self.emit(entry, None, To::All);
    }

    /// Write one of the daemon's own lines (no fields).
    fn own(&self, level: Level, args: fmt::Arguments<'_>, deadline: Option<Instant>, to: To) {
        self.emit(&Entry::plain(level, OWN_TARGET, args), deadline, to);
    }

    /// Format and write one record to the sinks; with a `deadline`, skip a sink held past it.
    fn emit(&self, e: &Entry<'_>, deadline: Option<Instant>, to: To) {
        let level = e.level;
        RECORDS[level as usize - 1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (file_notes, syslog_event, journal_event) = with_scratch(|s| {
            let Scratch {
                line,
                aux,
                msg,
                clock,
            } = s;
            line.clear();
            let now = Now::get();
            let fields = Line {
                name: &self.name,
                pid: &self.pid,
                entry: e,
            };
            let range = self.template.render(line, &fields, clock, now);
            line.push(b'\n');
            let text_range = range.clone();
            let wants_msg = (self.syslog.is_some() && to != To::AllButSyslog)
                || self.stdout.as_ref().is_some_and(stdout::StdoutSink::journal);
            // The message as syslog and the journal stream carry it: the text, then the fields.
            let message: &[u8] = match range {
                _ if !wants_msg => &[],
                Some(r) if e.fields.is_empty() => &line[r],
                range => {
                    msg.clear();
                    match range {
                        Some(r) => msg.extend_from_slice(&line[r]),
                        None => format::write_args(msg, e.args),
                    }
                    if !e.fields.is_empty() {
                        msg.push(b' ');
                        record::write_text(msg, e.fields);
                    }
                    msg
                }
            };
            let file_notes = if to == To::AllButFile {
                if self.stdout.is_none() && self.syslog.is_none() && self.journal.is_none() {
                    // No other sink: stderr is the only place left (the journal under systemd).
                    stderr_line(format_args!("{}", String::from_utf8_lossy(line).trim_end()));
                }
                Vec::new()
            } else {
                self.file.write(line, deadline, now.epoch_millis())
            };
            if let Some(out) = &self.stdout {
                if out.journal() {
                    aux.clear();
                    stdout::StdoutSink::journal_line(aux, level, message);
                    out.write(aux, deadline);
                } else {
                    out.write(line, deadline);
                }
            }
            let mut syslog_event = None;
            if let (Some(sys), false) = (&self.syslog, to == To::AllButSyslog) {
                aux.clear();
                sys.datagram(aux, level, clock, now, message);
                syslog_event = sys.send(aux, deadline);
            }
            let mut journal_event = None;
            if let (Some(j), false) = (&self.journal, to == To::AllButJournal) {
                // The message alone: the journal carries the fields as fields.
                let text: &[u8] = match text_range {
                    Some(r) => &line[r],
                    None => {
                        msg.clear();
                        format::write_args(msg, e.args);
                        msg
                    }
                };
                aux.clear();
                j.entry(aux, e, text);
                journal_event = j.send(aux, deadline);
            }
            (file_notes, syslog_event, journal_event)
        });
        for n in file_notes {
            let to = if n.to_file { To::All } else { To::AllButFile };
            self.own(n.level, format_args!("{}", n.text), deadline, to);
        }
        if let (Some(ev), Some(sys)) = (syslog_event, &self.syslog) {
            self.report("syslog", sys.path(), ev, deadline, To::AllButSyslog);
        }
        if let (Some(ev), Some(j)) = (journal_event, &self.journal) {
            self.report("journal", j.path(), ev, deadline, To::AllButJournal);
        }
    }

    /// Tell the other sinks (`others`) that the `sink`'s socket at `path` changed state.
    fn report(&self, sink: &str, path: &Path, event: Event, deadline: Option<Instant>, others: To) {
        let path = path.display().to_string();
        let (level, to, text) = match &event {
            Event::Lost(e) => (
                Level::Warn,
                others,
                format!("{sink} socket {path:?} is lost ({e}); lines go on to the log file, and to {sink} again once it is back"),
            ),
            Event::Back => (Level::Info, To::All, format!("{sink} socket {path:?} is back")),
            Event::Full => (
                Level::Warn,
                others,
                format!("{sink} socket {path:?} is full (its reader is not reading): datagrams are dropped, not waited for, until it takes them again; the other sinks get every line"),
            ),
            Event::Drained(n) => (
                Level::Info,
                To::All,
                format!("{sink} socket {path:?} takes datagrams again; {n} datagrams were dropped while it was full"),
            ),
        };
        self.own(level, format_args!("{text}"), deadline, to);
    }

    /// Log a lifecycle line (as [`lifecycle`] does) without waiting longer than `deadline` for a
    /// sink another thread holds (that sink is skipped). For the signal thread and the panic
    /// hook.
    pub(crate) fn log_bounded(&self, level: Level, args: fmt::Arguments<'_>, deadline: Instant) {
        if level <= self.filter.lifecycle() {
            self.own(level, args, Some(deadline), To::All);
        }
    }

    /// The sink left out so that records reach the journal once, and why: a start line.
    pub(crate) fn one_path(&self) -> Option<&str> {
        self.one_path.as_deref()
    }

    /// The log file's path.
    pub(crate) fn file_path(&self) -> &std::path::Path {
        self.file.path()
    }

    /// Write out every buffered line (buffered mode; a no-op otherwise), waiting for the sinks.
    /// Not final: buffering goes on (the timer, `log::logger().flush()`).
    pub(crate) fn flush(&self) {
        self.flush_sinks(None, false);
    }

    /// The final flush of every exit path (tick loop, signal thread, panic hook, `atexit`):
    /// write out every buffered line and switch the sinks to direct writes for the rest of the
    /// process, skipping a sink another thread holds past `deadline`. After a panic, buffered mode thus writes every record at once.
    pub(crate) fn flush_bounded(&self, deadline: Instant) {
        self.flush_sinks(Some(deadline), true);
    }

    /// The last word on an episode of drops still going on at the end (`syslog socket ... was
    /// still full at exit; N datagrams were dropped`), on the other sinks. The exit paths say it
    /// before their last line (`Graceful Interrupt...`, the error, the panic), which stays the
    /// last; drops after it are not told.
    pub(crate) fn report_drops(&self, deadline: Instant) {
        let deadline = Some(deadline);
        let peers = [
            self.syslog
                .as_ref()
                .map(|s| ("syslog", s.path(), s.take_dropped(deadline), To::AllButSyslog)),
            self.journal
                .as_ref()
                .map(|j| ("journal", j.path(), j.take_dropped(deadline), To::AllButJournal)),
        ];
        for (sink, path, n, others) in peers.into_iter().flatten() {
            if n > 0 {
                self.own(
                    Level::Warn,
                    format_args!(
                        "{sink} socket {:?} was still full at exit; {n} datagrams were dropped",
                        path.display().to_string()
                    ),
                    deadline,
                    others,
                );
            }
        }
    }

    fn flush_sinks(&self, deadline: Option<Instant>, last: bool) {
        self.file.flush(deadline, last);
        if let Some(out) = &self.stdout {
            out.flush(deadline, last);
        }
    }

    /// Re-open the log file at its path (SIGHUP, after logrotate moved it).
    ///
    /// Waits at most half a second for a writer that holds the file (the signal thread calls
    /// this). When the old file had been deleted, one warning says so.
    ///
    /// # Errors
    ///
    /// The `open(2)` error, or `WouldBlock` when a writer holds the file past the wait; the old
    /// file stays in use.
    pub(crate) fn reopen(&self) -> io::Result<()> {
        let path = self.file.path().display().to_string();
        let deleted = self
            .file
            .reopen()
            .map_err(|e| io::Error::new(e.kind(), format!("{path:?}: {e}")))?;
        if let Some(w) = deleted {
            let deadline = Instant::now() + EXIT_FLUSH_WAIT;
            self.own(Level::Warn, format_args!("{w}"), Some(deadline), To::All);
        }
        Ok(())
    }
}

impl Log for Sinks {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata.level(), metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        record::with_log_fields(record, |fields| {
            let entry = Entry {
                level: record.level(),
                target: record.target(),
                file: record.file(),
                line: record.line(),
                args: *record.args(),
                fields,
            };
            self.emit(&entry, None, To::All);
        });
    }

    fn flush(&self) {
        Sinks::flush(self);
    }
}
