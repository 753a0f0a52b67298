//! Line templates (text and JSON) and cached time stamps.
//!
//! Promises:
//! - [`Template::parse`] checks a template once, when the configuration is built: every `{field}`
//!   is one of [`FIELDS`], `{{` and `}}` are literal braces, and anything else is an error whose
//!   text names the culprit and lists the valid fields; the template `json` is JSON lines;
//! - a record's key-value fields are rendered where the template says `{fields}`
//!   (`user=42 path="/x"`); a text template without `{fields}` (the seed's default among them)
//!   appends them at the end of the line after one space, and only when the record has any, so
//!   a line without fields is exactly the seed's;
//! - JSON lines are one flat object per line, `{"timestamp":"2026-12-01T18:53:59.193Z",
//!   "level":"INFO","name":..,"pid":..,"target":..,"message":.., <fields>}`: the time in UTC
//!   (RFC 3339, milliseconds), fields typed (numbers and booleans bare), every string escaped;
//!   a field named like a fixed key (or like an earlier field) is written with `_` in front of
//!   its name (`_level`, then `__level`), so no key is ever repeated and the fixed keys keep
//!   their own values. (The journal's rule differs on purpose, see `journal::field_name`: a
//!   JSON key may be any string, so only a repeat needs a prefix; journald takes `A-Z0-9_` only
//!   and refuses names beginning with `_` from a client, so there the prefix is `ESCAPED_`);
//! - rendering a record appends to a caller's buffer and allocates nothing once that buffer has
//!   grown: the date part of `{time}` (`2018-11-27 13:47:59`) and the syslog stamp
//!   (`Nov 27 13:47:59`) are formatted by `chrono` at most once per second per thread (a
//!   [`Clock`]); the milliseconds are three digits written by hand;
//! - a message with several lines is written as it is: continuation lines carry no prefix, as in
//!   Python's `logging`.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone, Utc};

use super::record::{self, Entry, Field};

/// The seed's line format: `2018-11-27 13:47:59,971 - MyDaemon - INFO - message`.
pub const DEFAULT_LOG_FORMAT: &str = "{time} - {name} - {level} - {message}";

/// The fields a template may name.
pub(crate) const FIELDS: [&str; 7] = ["time", "name", "level", "message", "pid", "target", "fields"];

/// The `log_format` that selects JSON lines.
pub const JSON_LOG_FORMAT: &str = "json";

/// The keys every JSON line has, in order.
const JSON_KEYS: [&str; 6] = ["timestamp", "level", "name", "pid", "target", "message"];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text copied as is (braces already unescaped).
    Literal(Box<str>),
    /// `{time}`: `2018-11-27 13:47:59,971`, local time.
    Time,
    /// `{name}`: the daemon's name.
    Name,
    /// `{level}`: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`.
    Level,
    /// `{message}`: the record's text.
    Message,
    /// `{pid}`: the process id.
    Pid,
    /// `{target}`: the record's target (by default the module path of the call).
    Target,
    /// `{fields}`: the record's key-values, `user=42 path="/x"`.
    Fields,
}

/// A parsed line template, checked once when the configuration is built.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    /// JSON lines instead of the pieces.
    json: bool,
    /// Whether the pieces name `{fields}`; when not, fields are appended.
    has_fields: bool,
}

/// What a record brings to a template: the daemon's name and pid, and the record.
pub(crate) struct Line<'a> {
    /// The daemon's name.
    pub(crate) name: &'a str,
    /// The process id, already in decimal.
    pub(crate) pid: &'a str,
    /// The record.
    pub(crate) entry: &'a Entry<'a>,
}

impl Template {
    /// Whether this is the JSON format.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Parse `s`; the `Err` is the reason, shown as `invalid log_format "<s>": <reason>`.
    pub(crate) fn parse(s: &str) -> Result<Template, String> {
        if s == JSON_LOG_FORMAT {
            return Ok(Template {
                pieces: Vec::new(),
                json: true,
                has_fields: true,
            });
        }
        if s.trim().eq_ignore_ascii_case(JSON_LOG_FORMAT) {
            return Err(format!(
                "is {JSON_LOG_FORMAT:?} for JSON lines, in lower case; any other value is a line template"
            ));
        }
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => {
                    return Err(format!(
                        "unmatched '}}' at byte {at} (write '}}}}' for a literal brace)"
                    ))
                }
                '{' => {
                    let rest = &s[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed '{{' at byte {at} (write '{{{{' for a literal brace)"
                        ));
                    };
                    let name = &rest[..end];
                    let piece = match name {
                        "time" => Piece::Time,
                        "name" => Piece::Name,
                        "level" => Piece::Level,
                        "message" => Piece::Message,
                        "pid" => Piece::Pid,
                        "target" => Piece::Target,
                        "fields" => Piece::Fields,
                        _ => return Err(unknown_field(name)),
                    };
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit).into()));
                    }
                    pieces.push(piece);
                    // Skip the field's characters and its closing brace.
                    while chars.next_if(|&(i, _)| i <= at + 1 + end).is_some() {}
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit.into()));
        }
        if !pieces.contains(&Piece::Message) {
            return Err("has no {message}, so every line would lose its message".into());
        }
        let has_fields = pieces.contains(&Piece::Fields);
        Ok(Template {
            pieces,
            json: false,
            has_fields,
        })
    }

    /// Append the line for `f` to `out` (without the newline); returns where the message landed
    /// in `out`, when the template has a `{message}` field and the message is there as it is
    /// (not in JSON, where it is escaped).
    pub(crate) fn render(
        &self,
        out: &mut Vec<u8>,
        f: &Line<'_>,
        clock: &mut Clock,
        now: Now,
    ) -> Option<Range<usize>> {
        if self.json {
            render_json(out, f, clock, now);
            return None;
        }
        let e = f.entry;
        let mut message = None;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.extend_from_slice(s.as_bytes()),
                Piece::Time => clock.write_time(out, now),
                Piece::Name => out.extend_from_slice(f.name.as_bytes()),
                Piece::Level => out.extend_from_slice(e.level.as_str().as_bytes()),
                Piece::Pid => out.extend_from_slice(f.pid.as_bytes()),
                Piece::Target => out.extend_from_slice(e.target.as_bytes()),
                Piece::Message => {
                    let start = out.len();
                    write_args(out, e.args);
                    message = Some(start..out.len());
                }
                Piece::Fields => record::write_text(out, e.fields),
            }
        }
        if !self.has_fields && !e.fields.is_empty() {
            out.push(b' ');
            record::write_text(out, e.fields);
        }
        message
    }
}

/// Append one JSON object for `f` (without the newline).
fn render_json(out: &mut Vec<u8>, f: &Line<'_>, clock: &mut Clock, now: Now) {
    let e = f.entry;
    out.extend_from_slice(b"{\"timestamp\":\"");
    clock.write_utc(out, now);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(e.level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"name\":");
    record::write_json_str(out, f.name);
    out.extend_from_slice(b",\"pid\":");
    out.extend_from_slice(f.pid.as_bytes());
    out.extend_from_slice(b",\"target\":");
    record::write_json_str(out, e.target);
    out.extend_from_slice(b",\"message\":\"");
    match e.args.as_str() {
        Some(s) => record::write_json_escaped(out, s.as_bytes()),
        None => {
            let _ = fmt::write(&mut JsonWriter(out), e.args);
        }
    }
    out.push(b'"');
    if !e.fields.is_empty() {
        // How many `_` each field's key gets so that no key repeats (on the stack for the usual
        // few fields).
        let mut small = [0usize; 16];
        let mut big = Vec::new();
        let under: &mut [usize] = if e.fields.len() <= small.len() {
            &mut small[..e.fields.len()]
        } else {
            big.resize(e.fields.len(), 0);
            &mut big
        };
        for (i, field) in e.fields.iter().enumerate() {
            let mut n = 0;
            while taken(n, &field.key, &e.fields[..i], &under[..i]) {
                n += 1;
            }
            under[i] = n;
            out.extend_from_slice(b",\"");
            out.resize(out.len() + n, b'_');
            record::write_json_escaped(out, field.key.as_bytes());
            out.extend_from_slice(b"\":");
            record::write_json_value(out, &field.value);
        }
    }
    out.push(b'}');
}

/// Whether the key `"_" * n + key` is a fixed JSON key or the key of an earlier field.
fn taken(n: usize, key: &str, earlier: &[Field<'_>], under: &[usize]) -> bool {
    let same = |m: usize, other: &str| {
        if m == n {
            return other == key;
        }
        m + other.len() == n + key.len()
            && std::iter::repeat_n(b'_', m)
                .chain(other.bytes())
                .eq(std::iter::repeat_n(b'_', n).chain(key.bytes()))
    };
    JSON_KEYS.iter().any(|k| same(0, k)) || earlier.iter().zip(under).any(|(f, &m)| same(m, &f.key))
}

/// `fmt::Write` that escapes for the inside of a JSON string.
struct JsonWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for JsonWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        record::write_json_escaped(self.0, s.as_bytes());
        Ok(())
    }
}

fn unknown_field(name: &str) -> String {
    let mut valid = String::new();
    for (i, f) in FIELDS.iter().enumerate() {
        if i > 0 {
            valid.push_str(", ");
        }
        let _ = write!(valid, "{{{f}}}");
    }
    let hint = FIELDS
        .iter()
        .find(|f| close(name, f))
        .map(|f| format!(" (did you mean {{{f}}}?)"))
        .unwrap_or_default();
    format!("unknown field {{{name}}}{hint}; the fields are {valid}")
}

/// A cheap "likely misspelling" test: at least three letters that appear in order in the field
/// (`lvl`, `msg`, `tim`), or one edit apart.
fn close(given: &str, field: &str) -> bool {
    if given.len() >= 3 && {
        let mut it = field.chars();
        given.chars().all(|c| it.any(|f| f == c))
    } {
        return true;
    }
    let (a, b) = (given.as_bytes(), field.as_bytes());
    if a.len().abs_diff(b.len()) > 1 || a.is_empty() {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    prefix + suffix + 1 >= a.len().max(b.len())
}

/// Append a message: a plain string is copied, anything else formatted in place.
pub(crate) fn write_args(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    match args.as_str() {
        Some(s) => out.extend_from_slice(s.as_bytes()),
        // A `Display` impl returning `Err` leaves what it wrote; there is nothing better to do.
        None => {
            let _ = fmt::write(&mut VecWriter(out), args);
        }
    }
}

/// `fmt::Write` straight into a byte vector (cheaper than `io::Write`'s adapter).
pub(crate) struct VecWriter<'a>(pub(crate) &'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The current time, split for the cache: whole seconds since the epoch and milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    secs: i64,
    millis: u32,
}

impl Now {
    /// Read the system clock.
    pub(crate) fn get() -> Now {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Now {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                millis: d.subsec_millis(),
            },
            Err(_) => Now { secs: 0, millis: 0 },
        }
    }

    /// Milliseconds since the epoch.
    pub(crate) fn epoch_millis(self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(i64::from(self.millis))
    }
}

/// A per-thread cache of the formatted local date and syslog stamp, renewed once per second.
#[derive(Debug)]
pub(crate) struct Clock {
    secs: Option<i64>,
    utc_secs: Option<i64>,
    /// `2018-11-27T13:47:59` in UTC
    utc: [u8; 19],
    /// `2018-11-27 13:47:59`
    date: [u8; 19],
    /// `Nov 27 13:47:59` (day padded with a space, as RFC 3164 wants)
    syslog: [u8; 15],
}

impl Clock {
    /// An empty cache.
    pub(crate) const fn new() -> Clock {
        Clock {
            secs: None,
            utc_secs: None,
            utc: [b'0'; 19],
            date: [b'0'; 19],
            syslog: [b' '; 15],
        }
    }

    fn refresh(&mut self, secs: i64) {
        if self.secs == Some(secs) {
            return;
        }
        self.secs = Some(secs);
        stamps(&Local, secs, &mut self.date, &mut self.syslog);
    }

    /// Append `2018-11-27 13:47:59,971` for `now`.
    pub(crate) fn write_time(&mut self, out: &mut Vec<u8>, now: Now) {
        self.refresh(now.secs);
        out.extend_from_slice(&self.date);
        let ms = now.millis.min(999);
        // Each digit is < 10, so the casts cannot truncate.
        out.extend_from_slice(&[
            b',',
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
        ]);
    }

    /// Append the RFC 3339 UTC stamp `2018-11-27T13:47:59.971Z` for `now`.
    pub(crate) fn write_utc(&mut self, out: &mut Vec<u8>, now: Now) {
        if self.utc_secs != Some(now.secs) {
            self.utc_secs = Some(now.secs);
            if let Some(t) = Utc.timestamp_opt(now.secs, 0).earliest() {
                let _ = write!(Cursor::new(&mut self.utc), "{}", t.format("%Y-%m-%dT%H:%M:%S"));
            }
        }
        out.extend_from_slice(&self.utc);
        let ms = now.millis.min(999);
        // Each digit is < 10, so the casts cannot truncate.
        out.extend_from_slice(&[
            b'.',
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
            b'Z',
        ]);
    }

    /// Append the RFC 3164 stamp `Nov 27 13:47:59` for `now`.
    pub(crate) fn write_syslog(&mut self, out: &mut Vec<u8>, now: Now) {
        self.refresh(now.secs);
        out.extend_from_slice(&self.syslog);
    }
}

/// Format second `secs` in `tz`: `2018-11-27 13:47:59` into `date`, `Nov 27 13:47:59` into
/// `syslog`; both are left as they are when `tz` has no such time.
fn stamps<Tz: TimeZone>(tz: &Tz, secs: i64, date: &mut [u8; 19], syslog: &mut [u8; 15])
where
    Tz::Offset: fmt::Display,
{
    let Some(t) = tz.timestamp_opt(secs, 0).earliest() else {
        return;
    };
    let _ = write!(Cursor::new(date), "{}", t.format("%Y-%m-%d %H:%M:%S"));
    let _ = write!(Cursor::new(syslog), "{}", t.format("%b %e %H:%M:%S"));
}

/// A `fmt::Write` into a fixed array (excess is dropped; the formats used fit exactly).
struct Cursor<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Cursor { buf, at: 0 }
    }
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.at;
        let n = s.len().min(room);
        self.buf[self.at..self.at + n].copy_from_slice(&s.as_bytes()[..n]);
        self.at += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::record::Value;
    use log::Level;

    fn render_with(t: &str, msg: &str, fields: &[Field<'_>]) -> String {
        let t = Template::parse(t).expect("valid");
        let mut out = Vec::new();
        let go = |args: fmt::Arguments<'_>, out: &mut Vec<u8>| {
            let e = Entry {
                fields,
                ..Entry::plain(Level::Info, "app::m", args)
            };
            let f = Line {
                name: "MyDaemon",
                pid: "42",
                entry: &e,
            };
            t.render(out, &f, &mut Clock::new(), Now::get());
        };
        go(format_args!("{msg}"), &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    fn render(t: &str, msg: &str) -> String {
        render_with(t, msg, &[])
    }

    #[test]
    fn fields_in_text() {
        let f = [
            Field::new("user", Value::I64(42)),
            Field::new("path", Value::Str("/x".into())),
        ];
        assert_eq!(
            render_with("{level} {message} [{fields}]", "login", &f),
            "INFO login [user=42 path=\"/x\"]"
        );
        assert_eq!(
            render_with("{level} {message} [{fields}]", "login", &[]),
            "INFO login []"
        );
        let line = render_with(DEFAULT_LOG_FORMAT, "login", &f);
        assert!(
            line.ends_with(" - MyDaemon - INFO - login user=42 path=\"/x\""),
            "{line}"
        );
        let line = render_with(DEFAULT_LOG_FORMAT, "login", &[]);
        assert!(line.ends_with(" - MyDaemon - INFO - login"), "{line}");
    }

    #[test]
    fn json_line_shape() {
        let f = [
            Field::new("user", Value::I64(42)),
            Field::new("path", Value::Str("/x".into())),
        ];
        let line = render_with("json", "login", &f);
        let (head, rest) = line.split_at(14);
        assert_eq!(head, "{\"timestamp\":\"");
        let b = rest.as_bytes();
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[19], b[23]),
            (b'-', b'-', b'T', b':', b'.', b'Z')
        );
        assert_eq!(
            &rest[24..],
            "\",\"level\":\"INFO\",\"name\":\"MyDaemon\",\"pid\":42,\"target\":\"app::m\",\"message\":\"login\",\"user\":42,\"path\":\"/x\"}"
        );
    }

    #[test]
    fn json_keys_never_repeat() {
        let f = [
            Field::new("level", Value::Str("mine".into())),
            Field::new("_level", Value::I64(1)),
            Field::new("a", Value::I64(1)),
            Field::new("a", Value::I64(2)),
            Field::new("message", Value::Bool(false)),
        ];
        let line = render_with("json", "m\"x", &f);
        assert!(
            line.ends_with(",\"level\":\"INFO\",\"name\":\"MyDaemon\",\"pid\":42,\"target\":\"app::m\",\"message\":\"m\\\"x\",\"_level\":\"mine\",\"__level\":1,\"a\":1,\"_a\":2,\"_message\":false}"),
            "{line}"
        );
    }

    mod json_props {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Value<'static>> {
            prop_oneof![
                any::<i64>().prop_map(Value::I64),
                any::<u64>().prop_map(Value::U64),
                any::<f64>().prop_map(Value::F64),
                any::<bool>().prop_map(Value::Bool),
                text().prop_map(|s| Value::Str(s.into())),
            ]
        }

        /// Strings heavy in what JSON must escape, and any string at all.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[\\x00-\\x1f\"\\\\/a-z \\x7f-\\u{a0}\\u{2028}\\u{2029}é€😀]{0,40}",
            ]
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                text(),
                prop::sample::select(vec![
                    "timestamp",
                    "level",
                    "name",
                    "pid",
                    "target",
                    "message",
                    "_level",
                    "a"
                ])
                .prop_map(str::to_owned),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The escaper writes exactly what serde_json writes for a string, whatever its
            /// length (the eight-byte chunks and the padded last one) and content.
            #[test]
            fn a_string_is_escaped_as_serde_json_escapes_it(s in text(), pre in 0usize..9) {
                let s = format!("{}{s}", "a".repeat(pre));
                let mut out = Vec::new();
                record::write_json_str(&mut out, &s);
                let want = serde_json::to_string(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(String::from_utf8_lossy(&out), want);
            }

            /// Any message and any fields give one valid JSON object, read back by serde_json
            /// with the same values, the fixed keys first and holding their own values, and no
            /// key repeated.
            #[test]
            fn any_record_is_one_valid_json_object(
                msg in text(),
                fields in prop::collection::vec((key(), value()), 0..6),
            ) {
                let fields: Vec<Field<'static>> =
                    fields.into_iter().map(|(k, v)| Field::new(k, v)).collect();
                let line = render_with("json", &msg, &fields);
                prop_assert!(!line.contains('\n'));
                let parsed: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
                let obj = parsed.as_object().ok_or_else(|| TestCaseError::fail("not an object"))?;
                // Every key written is in the object: none was dropped as a duplicate.
                prop_assert_eq!(obj.len(), 6 + fields.len(), "{}", line);
                let keys: Vec<&str> = obj.keys().map(String::as_str).take(6).collect();
                prop_assert_eq!(keys, JSON_KEYS.to_vec());
                prop_assert_eq!(obj["message"].as_str(), Some(msg.as_str()));
                prop_assert_eq!(obj["level"].as_str(), Some("INFO"));
                prop_assert_eq!(obj["name"].as_str(), Some("MyDaemon"));
                prop_assert_eq!(obj["pid"].as_u64(), Some(42));
                prop_assert_eq!(obj["target"].as_str(), Some("app::m"));
                for ((k, v), f) in obj.iter().skip(6).zip(&fields) {
                    prop_assert!(k.trim_start_matches('_') == f.key.trim_start_matches('_'), "{} for {}", k, f.key);
                    match &f.value {
                        Value::I64(n) => prop_assert_eq!(v.as_i64(), Some(*n)),
                        Value::U64(n) => prop_assert_eq!(v.as_u64(), Some(*n)),
                        Value::F64(n) if n.is_finite() => prop_assert_eq!(v.as_f64(), Some(*n)),
                        Value::F64(_) => prop_assert!(v.is_null()),
                        Value::Bool(b) => prop_assert_eq!(v.as_bool(), Some(*b)),
                        Value::Str(s) => prop_assert_eq!(v.as_str(), Some(&**s)),
                    }
                }
            }
        }
    }

    #[test]
    fn utc_stamp() {
        let mut c = Clock::new();
        let mut out = Vec::new();
        c.write_utc(
            &mut out,
            Now {
                secs: 1_543_326_479,
                millis: 7,
            },
        );
        assert_eq!(String::from_utf8_lossy(&out), "2018-11-27T13:47:59.007Z");
    }

    #[test]
    fn seed_format() {
        let line = render(super::DEFAULT_LOG_FORMAT, "PID: 42");
        // 2018-11-27 13:47:59,971 - MyDaemon - INFO - PID: 42
        let (time, rest) = line.split_at(23);
        assert_eq!(rest, " - MyDaemon - INFO - PID: 42");
        let b = time.as_bytes();
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16], b[19]),
            (b'-', b'-', b' ', b':', b':', b',')
        );
        assert!(time.chars().filter(char::is_ascii_digit).count() == 17, "{time}");
    }

    #[test]
    fn fields_and_braces() {
        assert_eq!(
            render("{{{pid}}} {target} {name}: {message}}}", "hi"),
            "{42} app::m MyDaemon: hi}"
        );
        assert_eq!(render("é{message}ü", "ß"), "éßü");
    }

    #[test]
    fn errors_name_the_culprit() {
        let e = Template::parse("{time} {lvl}").expect_err("invalid");
        assert!(e.starts_with("unknown field {lvl} (did you mean {level}?); the fields are {time}, {name}, {level}, {message}, {pid}, {target}, {fields}"), "{e}");
        let e = Template::parse("{mesage}").expect_err("invalid");
        assert!(e.contains("did you mean {message}?"), "{e}");
        let e = Template::parse("{xyz}").expect_err("invalid");
        assert!(!e.contains("did you mean"), "{e}");
        assert!(Template::parse("{time")
            .expect_err("invalid")
            .starts_with("unclosed '{' at byte 0"));
        assert!(Template::parse("a}b")
            .expect_err("invalid")
            .starts_with("unmatched '}' at byte 1"));
        assert!(Template::parse("{}")
            .expect_err("invalid")
            .starts_with("unknown field {}"));
        // A template whose lines would all lose their message; "JSON" meant "json".
        for t in ["plain", "", "{time} {level}", "{{message}}"] {
            let e = Template::parse(t).expect_err("no message");
            assert!(e.starts_with("has no {message}"), "{t:?}: {e}");
        }
        for t in ["JSON", " Json "] {
            let e = Template::parse(t).expect_err("json in upper case");
            assert!(e.contains("\"json\" for JSON lines, in lower case"), "{t:?}: {e}");
        }
    }

    #[test]
    fn message_range_and_multiline() {
        let t = Template::parse("[{level}] {message}").expect("valid");
        let mut out = Vec::new();
        let e = Entry::plain(Level::Error, "t", format_args!("panicked at a.rs:1:2:\nboom"));
        let f = Line {
            name: "n",
            pid: "1",
            entry: &e,
        };
        let r = t
            .render(&mut out, &f, &mut Clock::new(), Now::get())
            .expect("has message");
        assert_eq!(&out[r], b"panicked at a.rs:1:2:\nboom");
        assert_eq!(out, b"[ERROR] panicked at a.rs:1:2:\nboom");
    }

    #[test]
    fn exact_stamps_in_utc() {
        let (mut date, mut sys) = ([0u8; 19], [0u8; 15]);
        stamps(&chrono::Utc, 1_543_326_479, &mut date, &mut sys);
        assert_eq!(&date, b"2018-11-27 13:47:59");
        assert_eq!(&sys, b"Nov 27 13:47:59");
        // A one-digit day is padded with a space (RFC 3164), the date with a zero.
        stamps(&chrono::Utc, 1_709_251_199, &mut date, &mut sys);
        assert_eq!(&date, b"2024-02-29 23:59:59");
        stamps(&chrono::Utc, 1_709_251_200, &mut date, &mut sys);
        assert_eq!(&date, b"2024-03-01 00:00:00");
        assert_eq!(&sys, b"Mar  1 00:00:00");
    }

    #[test]
    fn the_clock_follows_every_second() {
        // The cache must renew itself each second: every stamp equals a fresh formatting.
        let mut c = Clock::new();
        for (secs, millis) in [
            (1_543_326_479, 999),
            (1_543_326_480, 0),
            (1_543_326_480, 5),
            (1_543_326_541, 42),
            (1_543_326_479, 1),
        ] {
            let mut out = Vec::new();
            c.write_time(&mut out, Now { secs, millis });
            let want = Local
                .timestamp_opt(secs, millis * 1_000_000)
                .earliest()
                .expect("a local time")
                .format("%Y-%m-%d %H:%M:%S,%3f")
                .to_string();
            assert_eq!(String::from_utf8_lossy(&out), want);
            let mut sys = Vec::new();
            c.write_syslog(&mut sys, Now { secs, millis });
            let want = Local
                .timestamp_opt(secs, 0)
                .earliest()
                .expect("a local time")
                .format("%b %e %H:%M:%S")
                .to_string();
            assert_eq!(String::from_utf8_lossy(&sys), want);
            let mut utc = Vec::new();
            c.write_utc(&mut utc, Now { secs, millis });
            let want = Utc
                .timestamp_opt(secs, millis * 1_000_000)
                .earliest()
                .expect("a UTC time")
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(String::from_utf8_lossy(&utc), want);
            assert_eq!(
                Now { secs, millis }.epoch_millis(),
                secs * 1000 + i64::from(millis)
            );
        }
    }

    #[test]
    fn clock_caches_per_second_and_pads_millis() {
        let mut c = Clock::new();
        let mut out = Vec::new();
        c.write_time(
            &mut out,
            Now {
                secs: 1_543_326_479,
                millis: 7,
            },
        );
        assert!(out.ends_with(b",007"), "{}", String::from_utf8_lossy(&out));
        let mut sys = Vec::new();
        c.write_syslog(
            &mut sys,
            Now {
                secs: 1_543_326_479,
                millis: 7,
            },
        );
        assert_eq!(sys.len(), 15);
        assert!(sys.starts_with(b"Nov "), "{}", String::from_utf8_lossy(&sys));
    }
}
