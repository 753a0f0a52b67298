//! The record every sink formats: a message, its level, target and source location, and a list
//! of typed fields.
//!
//! Promises:
//! - an [`Entry`] is what every front end hands the sinks: `log` records (with their key-values,
//!   collected by [`with_log_fields`]), the daemon's own lines (no fields), and any other bridge
//!   (e.g. `tracing`) that builds one itself and calls
//!   [`Logger::write`](super::Logger::write);
//! - a field's value keeps its type ([`Value`]: signed and unsigned integers, floats, booleans,
//!   strings); anything else (a `Display`/`Debug` value) becomes its text, a string;
//! - a record with few fields costs no allocation here: [`with_log_fields`] keeps up to four on
//!   the stack (and nothing at all for a record without key-values);
//! - [`write_text`] renders fields as `user=42 path="/x" ok=true` (strings quoted and escaped as
//!   Rust's `Debug` does, numbers and booleans bare); [`write_json_str`] escapes a string for
//!   JSON (quotes, backslashes and every control character), checked against a real JSON parser
//!   by property tests.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use log::kv::{self, VisitSource, VisitValue};
use log::Level;

use super::format::VecWriter;

/// A field's value, with its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    /// A signed integer.
    I64(i64),
    /// An unsigned integer (one that does not fit `i64` or was unsigned at the source).
    U64(u64),
    /// A floating-point number; a non-finite one is `null` in JSON.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A string: borrowed from the record when it can be, else the value's text.
    Str(Cow<'a, str>),
}

/// One key-value pair of a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field<'a> {
    /// The key, as the user wrote it (`user` in `info!(user = 42; "...")`).
    pub(crate) key: Cow<'a, str>,
    /// The value.
    pub(crate) value: Value<'a>,
}

impl<'a> Field<'a> {
    /// A field `key = value`.
    #[allow(dead_code)] // for the bridges that build fields themselves (`tracing`)
    pub(crate) fn new(key: impl Into<Cow<'a, str>>, value: Value<'a>) -> Field<'a> {
        Field {
            key: key.into(),
            value,
        }
    }
}

/// One record, as the sinks see it.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The level.
    pub(crate) level: Level,
    /// The target (by default the module path of the call).
    pub(crate) target: &'a str,
    /// The source file, when known (the journal's `CODE_FILE`).
    pub(crate) file: Option<&'a str>,
    /// The source line, when known (the journal's `CODE_LINE`).
    pub(crate) line: Option<u32>,
    /// The message.
    pub(crate) args: fmt::Arguments<'a>,
    /// The fields, in the order they were given.
    pub(crate) fields: &'a [Field<'a>],
}

impl<'a> Entry<'a> {
    /// A record with no source location and no fields (the daemon's own lines).
    pub(crate) fn plain(level: Level, target: &'a str, args: fmt::Arguments<'a>) -> Entry<'a> {
        Entry {
            level,
            target,
            file: None,
            line: None,
            args,
            fields: &[],
        }
    }
}

/// How many key-values [`with_log_fields`] keeps on the stack (more go in a `Vec`).
const INLINE_FIELDS: usize = 4;

/// Call `f` with the key-values of `record`, typed: on the stack when they are few (no
/// allocation per record), in a `Vec` otherwise.
pub(crate) fn with_log_fields<'a, R>(record: &'a log::Record<'a>, f: impl FnOnce(&[Field<'a>]) -> R) -> R {
    let source = record.key_values();
    let n = source.count();
    if n == 0 {
        return f(&[]);
    }
    if n <= INLINE_FIELDS {
        let mut inline: [Field<'a>; INLINE_FIELDS] = std::array::from_fn(|_| Field {
            key: Cow::Borrowed(""),
            value: Value::Bool(false),
        });
        let mut c = Collect(Slots::Inline(&mut inline, 0));
        let _ = source.visit(&mut c);
        let Collect(Slots::Inline(_, len)) = c else {
            return f(&[]);
        };
        return f(&inline[..len]);
    }
    let mut out = Vec::with_capacity(n);
    let _ = source.visit(&mut Collect(Slots::Heap(&mut out)));
    f(&out)
}

/// Append the key-values of `record` to `out`, typed (through [`with_log_fields`]).
#[cfg(test)]
pub(crate) fn collect_log<'a>(record: &'a log::Record<'a>, out: &mut Vec<Field<'a>>) {
    with_log_fields(record, |f| out.extend_from_slice(f));
}

/// Where [`Collect`] puts the fields.
enum Slots<'v, 'o> {
    /// A stack array and how many of it are used.
    Inline(&'o mut [Field<'v>; INLINE_FIELDS], usize),
    Heap(&'o mut Vec<Field<'v>>),
}

struct Collect<'v, 'o>(Slots<'v, 'o>);

impl<'v> Collect<'v, '_> {
    fn push(&mut self, field: Field<'v>) {
        match &mut self.0 {
            Slots::Inline(a, len) => {
                // `count()` said how many there are; a source that visits more keeps the first.
                if let Some(slot) = a.get_mut(*len) {
                    *slot = field;
                    *len += 1;
                }
            }
            Slots::Heap(v) => v.push(field),
        }
    }
}

impl<'v> VisitSource<'v> for Collect<'v, '_> {
    fn visit_pair(&mut self, key: kv::Key<'v>, value: kv::Value<'v>) -> Result<(), kv::Error> {
        let key = match key.to_borrowed_str() {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(key.as_str().to_owned()),
        };
        let mut typed = Typed(None);
        let _ = value.visit(&mut typed);
        let value = typed
            .0
            .unwrap_or_else(|| Value::Str(Cow::Owned(value.to_string())));
        self.push(Field { key, value });
        Ok(())
    }
}

/// Finds a value's type; leaves `None` for values only known by their text.
struct Typed<'v>(Option<Value<'v>>);

impl<'v> VisitValue<'v> for Typed<'v> {
    fn visit_any(&mut self, _value: kv::Value<'_>) -> Result<(), kv::Error> {
        Ok(())
    }
    fn visit_u64(&mut self, v: u64) -> Result<(), kv::Error> {
        self.0 = Some(match i64::try_from(v) {
            Ok(i) => Value::I64(i),
            Err(_) => Value::U64(v),
        });
        Ok(())
    }
    fn visit_i64(&mut self, v: i64) -> Result<(), kv::Error> {
        self.0 = Some(Value::I64(v));
        Ok(())
    }
    fn visit_u128(&mut self, v: u128) -> Result<(), kv::Error> {
        self.0 = Some(match u64::try_from(v) {
            Ok(u) => return self.visit_u64(u),
            Err(_) => Value::Str(Cow::Owned(v.to_string())),
        });
        Ok(())
    }
    fn visit_i128(&mut self, v: i128) -> Result<(), kv::Error> {
        self.0 = Some(match i64::try_from(v) {
            Ok(i) => Value::I64(i),
            Err(_) => match u64::try_from(v) {
                Ok(u) => Value::U64(u),
                Err(_) => Value::Str(Cow::Owned(v.to_string())),
            },
        });
        Ok(())
    }
    fn visit_f64(&mut self, v: f64) -> Result<(), kv::Error> {
        self.0 = Some(Value::F64(v));
        Ok(())
    }
    fn visit_bool(&mut self, v: bool) -> Result<(), kv::Error> {
        self.0 = Some(Value::Bool(v));
        Ok(())
    }
    fn visit_str(&mut self, v: &str) -> Result<(), kv::Error> {
        self.0 = Some(Value::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }
    fn visit_borrowed_str(&mut self, v: &'v str) -> Result<(), kv::Error> {
        self.0 = Some(Value::Str(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_null(&mut self) -> Result<(), kv::Error> {
        self.0 = Some(Value::Str(Cow::Borrowed("None")));
        Ok(())
    }
}

/// Append `fields` as text: `user=42 path="/x"`, one space between fields, none around.
pub(crate) fn write_text(out: &mut Vec<u8>, fields: &[Field<'_>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(f.key.as_bytes());
        out.push(b'=');
        write_text_value(out, &f.value);
    }
}

fn write_text_value(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::I64(n) => return write_i64(out, *n),
        Value::U64(n) => return write_u64(out, *n),
        _ => {}
    }
    let mut w = VecWriter(out);
    let _ = match v {
        Value::I64(_) | Value::U64(_) => Ok(()),
        Value::F64(n) => write!(w, "{n}"),
        Value::Bool(b) => write!(w, "{b}"),
        Value::Str(s) => write!(w, "{s:?}"),
    };
}

/// Append `v` as a JSON value: numbers and booleans bare, a non-finite float `null`, strings
/// escaped.
pub(crate) fn write_json_value(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::I64(n) => write_i64(out, *n),
        Value::U64(n) => write_u64(out, *n),
        Value::F64(n) if n.is_finite() => {
            // `Debug` keeps a fraction (`1.0`), so the number reads back as a float.
            let _ = write!(VecWriter(out), "{n:?}");
        }
        Value::F64(_) => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Str(s) => write_json_str(out, s),
    }
}

/// Append the decimal digits of `n` (no `fmt` machinery: fields are on the hot path).
pub(crate) fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is a digit, so the cast cannot truncate.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// Append `n` in decimal, with a `-` when negative.
pub(crate) fn write_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    write_u64(out, n.unsigned_abs());
}

/// Append `s` as a JSON string, quotes included.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_json_escaped(out, s.as_bytes());
    out.push(b'"');
}

/// Append the bytes of a UTF-8 string escaped for the inside of a JSON string.
///
/// Runs of bytes that need no escape are found eight at a time and copied whole; the last,
/// shorter chunk is tested as the string's last eight bytes (a string shorter than eight,
/// padded with spaces, which need no escape), so a string without escapes is never walked byte
/// by byte.
pub(crate) fn write_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// Whether any byte of `w` is below 0x20, a quote or a backslash.
    #[inline(always)]
    fn needs_escape(w: u64) -> bool {
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let b = w ^ (ONES * u64::from(b'\\'));
        let bslash = b.wrapping_sub(ONES) & !b;
        (below | quote | bslash) & HIGH != 0
    }
    /// The eight bytes at `at`, or (a string shorter than eight) the string padded with spaces.
    #[inline(always)]
    fn word(s: &[u8], at: usize) -> u64 {
        let mut w = [b' '; 8];
        match s.get(at..at + 8) {
            Some(b) => w.copy_from_slice(b),
            None => {
                for (d, &c) in w.iter_mut().zip(&s[at..]) {
                    *d = c;
                }
            }
        }
        u64::from_le_bytes(w)
    }
    let n = s.len();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let take = (n - i).min(8);
        // The last, shorter chunk of a long string: the last eight bytes, overlapping bytes
        // already seen to need no escape.
        let w = if take < 8 && n >= 8 {
            word(s, n - 8)
        } else {
            word(s, i)
        };
        if !needs_escape(w) {
            i += take;
            continue;
        }
        // An escape among these bytes: look at them one by one.
        for at in i..i + take {
            let b = s[at];
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&s[start..at]);
            if esc.is_empty() {
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]);
            } else {
                out.extend_from_slice(esc);
            }
            start = at + 1;
        }
        i += take;
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(fields: &[Field<'_>]) -> String {
        let mut out = Vec::new();
        write_text(&mut out, fields);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn log_key_values_keep_their_types() {
        let kvs: [(&str, kv::Value<'_>); 6] = [
            ("user", 42.into()),
            ("neg", (-7i64).into()),
            ("big", u64::MAX.into()),
            ("ratio", 0.5f64.into()),
            ("ok", true.into()),
            ("path", "/x".into()),
        ];
        let args = format_args!("login");
        let record = log::Record::builder().args(args).key_values(&kvs).build();
        let mut fields = Vec::new();
        collect_log(&record, &mut fields);
        assert_eq!(
            fields,
            vec![
                Field::new("user", Value::I64(42)),
                Field::new("neg", Value::I64(-7)),
                Field::new("big", Value::U64(u64::MAX)),
                Field::new("ratio", Value::F64(0.5)),
                Field::new("ok", Value::Bool(true)),
                Field::new("path", Value::Str("/x".into())),
            ]
        );
        assert_eq!(
            text(&fields),
            "user=42 neg=-7 big=18446744073709551615 ratio=0.5 ok=true path=\"/x\""
        );
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        let f = [Field::new("m", Value::Str("a \"b\"\n\\".into()))];
        assert_eq!(text(&f), r#"m="a \"b\"\n\\""#);
        let mut j = Vec::new();
        write_json_value(&mut j, &f[0].value);
        assert_eq!(String::from_utf8_lossy(&j), r#""a \"b\"\n\\""#);
        let mut j = Vec::new();
        write_json_str(&mut j, "\u{1}\u{1f}\u{7f}é");
        assert_eq!(String::from_utf8_lossy(&j), "\"\\u0001\\u001f\u{7f}é\"");
    }

    #[test]
    fn integers() {
        for n in [0i64, 7, -7, 10, 42, -100, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            write_i64(&mut out, n);
            assert_eq!(String::from_utf8_lossy(&out), n.to_string());
        }
        let mut out = Vec::new();
        write_u64(&mut out, u64::MAX);
        assert_eq!(String::from_utf8_lossy(&out), u64::MAX.to_string());
    }

    #[test]
    fn floats_in_json() {
        for (v, want) in [
            (1.0, "1.0"),
            (0.25, "0.25"),
            (f64::NAN, "null"),
            (-f64::INFINITY, "null"),
        ] {
            let mut j = Vec::new();
            write_json_value(&mut j, &Value::F64(v));
            assert_eq!(String::from_utf8_lossy(&j), want);
        }
    }

    #[test]
    fn few_fields_on_the_stack_as_many_on_the_heap() {
        let kvs: [(&str, log::kv::Value<'_>); 2] = [("user", 42u64.into()), ("path", "/x".into())];
        let record = log::Record::builder()
            .args(format_args!("x"))
            .key_values(&kvs)
            .build();
        let mut fields = Vec::new();
        collect_log(&record, &mut fields);
        assert_eq!(
            fields,
            vec![
                Field::new("user", Value::I64(42)),
                Field::new("path", Value::Str(Cow::Borrowed("/x")))
            ]
        );
    }

    #[test]
    fn no_fields_no_allocation() {
        let record = log::Record::builder().args(format_args!("x")).build();
        let mut fields = Vec::new();
        collect_log(&record, &mut fields);
        assert!(fields.is_empty());
        assert_eq!(fields.capacity(), 0);
    }
}
