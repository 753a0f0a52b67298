//! The `tracing` bridge (feature `tracing`): a `tracing-subscriber` [`Layer`] over a
//! [`Registry`], installed as the process's subscriber when the daemon starts, that turns each
//! `tracing` event into the same [`Entry`] a `log` record is and writes it through the same
//! logger.
//!
//! Promises:
//! - [`claim`] sets the process's global subscriber once, before anything is created on disk
//!   (another subscriber there is [`Error::SubscriberInstalled`]); events made before the logger
//!   is installed are dropped, as `log` records are;
//! - filtering comes before formatting: each callsite's interest is decided by the daemon's
//!   directives (`register_callsite`, cached by `tracing` itself: a disabled event costs the
//!   callsite's cached check and nothing more), and [`ready`] rebuilds the cache once the
//!   directives are known;
//! - each event is written exactly once, through [`Logger::write`], so it reaches every sink in
//!   the daemon's format, in order with `log` records (the same sink locks), under the same
//!   loss guarantees; the event's `message` is the message, its other fields and the fields of
//!   every span it is in (kept in each span's extensions by `on_new_span` and `on_record`) are
//!   the record's fields, typed (integers, floats, booleans stay so; `?debug` and `%display`
//!   values are their text); a field named like one of the event's own wins over a span's, an
//!   inner span's over an outer one's, so no key is repeated;
//! - `tracing`'s `log` feature (in a library's dependencies) does not double the events: with a
//!   global subscriber set, `tracing` makes no `log` records. (Its `log-always` feature does,
//!   by design; no library should enable it.)

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use tracing_core::field::{Field as TField, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, Level as TLevel, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::{LookupSpan, Registry};

use crate::error::Error;

use super::record::{Entry, Field, Value};

/// The layer that writes `tracing` events through the daemon's logger.
struct Bridge;

/// A span's own fields, kept in its extensions.
struct SpanFields(Vec<Field<'static>>);

fn level(l: &TLevel) -> log::Level {
    match *l {
        TLevel::ERROR => log::Level::Error,
        TLevel::WARN => log::Level::Warn,
        TLevel::INFO => log::Level::Info,
        TLevel::DEBUG => log::Level::Debug,
        TLevel::TRACE => log::Level::Trace,
    }
}

/// Whether the daemon's directives let `m` through (nothing passes before the logger exists).
fn enabled(m: &Metadata<'_>) -> bool {
    super::global().is_some_and(|l| l.enabled(level(m.level()), m.target()))
}

/// Collects an event's or a span's fields; the event's `message` goes to `message`.
struct Collect<'a> {
    message: Option<&'a mut String>,
    fields: &'a mut Vec<Field<'static>>,
    /// Replace a field already there (a span's `record`) instead of adding a second.
    replace: bool,
}

impl Collect<'_> {
    fn put(&mut self, f: &TField, value: Value<'static>) {
        if self.replace {
            if let Some(old) = self.fields.iter_mut().find(|o| o.key == f.name()) {
                old.value = value;
                return;
            }
        }
        self.fields.push(Field::new(f.name(), value));
    }
}

impl Visit for Collect<'_> {
    fn record_i64(&mut self, f: &TField, v: i64) {
        self.put(f, Value::I64(v));
    }
    fn record_u64(&mut self, f: &TField, v: u64) {
        self.put(f, i64::try_from(v).map_or(Value::U64(v), Value::I64));
    }
    fn record_f64(&mut self, f: &TField, v: f64) {
        self.put(f, Value::F64(v));
    }
    fn record_bool(&mut self, f: &TField, v: bool) {
        self.put(f, Value::Bool(v));
    }
    fn record_str(&mut self, f: &TField, v: &str) {
        match &mut self.message {
            Some(m) if f.name() == "message" => m.push_str(v),
            _ => self.put(f, Value::Str(Cow::Owned(v.to_owned()))),
        }
    }
    fn record_error(&mut self, f: &TField, v: &(dyn std::error::Error + 'static)) {
        self.put(f, Value::Str(Cow::Owned(v.to_string())));
    }
    fn record_debug(&mut self, f: &TField, v: &dyn fmt::Debug) {
        match &mut self.message {
            // `info!("x {}", y)` records its message as `format_args!`, whose Debug is its text.
            Some(m) if f.name() == "message" => {
                let _ = write!(m, "{v:?}");
            }
            _ => self.put(f, Value::Str(Cow::Owned(format!("{v:?}")))),
        }
    }
}

impl<S> Layer<S> for Bridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        match super::global() {
            None => Interest::sometimes(),
            Some(_) if enabled(m) => Interest::always(),
            Some(_) => Interest::never(),
        }
    }

    fn enabled(&self, m: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        enabled(m)
    }

    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        let max = super::global()?.max_level();
        Some(match max {
            log::LevelFilter::Off => tracing_core::LevelFilter::OFF,
            log::LevelFilter::Error => tracing_core::LevelFilter::ERROR,
            log::LevelFilter::Warn => tracing_core::LevelFilter::WARN,
            log::LevelFilter::Info => tracing_core::LevelFilter::INFO,
            log::LevelFilter::Debug => tracing_core::LevelFilter::DEBUG,
            log::LevelFilter::Trace => tracing_core::LevelFilter::TRACE,
        })
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Vec::new();
        attrs.record(&mut Collect {
            message: None,
            fields: &mut fields,
            replace: true,
        });
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut Collect {
                message: None,
                fields,
                replace: true,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(logger) = super::global() else { return };
        with_buffers(|message, fields| {
            let m = event.metadata();
            event.record(&mut Collect {
                message: Some(message),
                fields,
                replace: false,
            });
            if let Some(scope) = ctx.event_scope(event) {
                // Innermost span first: a key already there (the event's, an inner span's) wins.
                for span in scope {
                    let ext = span.extensions();
                    let Some(SpanFields(own)) = ext.get::<SpanFields>() else {
                        continue;
                    };
                    for f in own {
                        if !fields.iter().any(|o| o.key == f.key) {
                            fields.push(f.clone());
                        }
                    }
                }
            }
            logger.write(&Entry {
                level: level(m.level()),
                target: m.target(),
                file: m.file(),
                line: m.line(),
                args: format_args!("{message}"),
                fields,
            });
        });
    }
}

/// Run `f` with this thread's message and field buffers, emptied (no allocation per event once
/// they have grown), or with fresh ones when they are in use (an event logged from inside a
/// field's `Debug`) or gone (thread exit).
fn with_buffers(f: impl FnOnce(&mut String, &mut Vec<Field<'static>>)) {
    thread_local! {
        static BUFFERS: RefCell<(String, Vec<Field<'static>>)> = const { RefCell::new((String::new(), Vec::new())) };
    }
    let mut f = Some(f);
    let _ = BUFFERS.try_with(|b| {
        if let Ok(mut b) = b.try_borrow_mut() {
            let (message, fields) = &mut *b;
            // Empty also before: an event whose field's `Debug` panicked left its part here.
            message.clear();
            fields.clear();
            if let Some(f) = f.take() {
                f(message, fields);
            }
            message.clear();
            fields.clear();
            // Give memory back after a huge event.
            if message.capacity() > 64 * 1024 {
                *message = String::new();
            }
            if fields.capacity() > 64 {
                *fields = Vec::new();
            }
        }
    });
    if let Some(f) = f {
        f(&mut String::new(), &mut Vec::new());
    }
}

/// Make the bridge the process's global `tracing` subscriber, once; a later call (a start that
/// failed after this step and is tried again) finds it ours.
///
/// # Errors
///
/// [`Error::SubscriberInstalled`] when another subscriber is the process's global one.
pub(crate) fn claim() -> Result<(), Error> {
    static OURS: OnceLock<bool> = OnceLock::new();
    let ours = *OURS.get_or_init(|| {
        let subscriber = Registry::default().with(Bridge);
        tracing_core::dispatcher::set_global_default(Dispatch::new(subscriber)).is_ok()
    });
    if ours {
        Ok(())
    } else {
        Err(Error::SubscriberInstalled)
    }
}

/// The logger is installed: decide every callsite's interest again under its directives.
pub(crate) fn ready() {
    tracing_core::callsite::rebuild_interest_cache();
}
