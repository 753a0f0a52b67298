//! The record every sink formats: a message, its level, target and source location, and a list
//! of typed fields.
//!
//! Promises:
//! - an [`Entry`] is what every front end hands the sinks: `log` records (with their key-values,
//!   collected by [`collect_log`]), the daemon's own lines (no fields), and any other bridge
//!   (e.g. `tracing`) that builds one itself and calls
//!   [`Logger::write`](super::Logger::write);
//! - a field's value keeps its type ([`Value`]: signed and unsigned integers, floats, booleans,
//!   strings); anything else (a `Display`/`Debug` value) becomes its text, a string;
//! - a record without fields costs nothing here: [`collect_log`] does not allocate when the
//!   record has no key-values;
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

/// Append the key-values of `record` to `out`, typed.
pub(crate) fn collect_log<'a>(record: &'a log::Record<'a>, out: &mut Vec<Field<'a>>) {
    let source = record.key_values();
    if source.count() == 0 {
        return;
    }
    let _ = source.visit(&mut Collect(out));
}

struct Collect<'v, 'o>(&'o mut Vec<Field<'v>>);

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
        self.0.push(Field { key, value });
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
/// Runs of bytes that need no escape are found eight at a time and copied whole.
pub(crate) fn write_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// Whether any byte of `w` is below 0x20, a quote or a backslash.
    fn needs_escape(w: u64) -> bool {
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let quote = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'"')));
        let bslash = (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'\\')));
        (below | quote | bslash) & HIGH != 0
    }
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        if i + 8 <= s.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&s[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let b = s[i];
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&s[start..i]);
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
        i += 1;
        start = i;
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
    fn no_fields_no_allocation() {
        let record = log::Record::builder().args(format_args!("x")).build();
        let mut fields = Vec::new();
        collect_log(&record, &mut fields);
        assert!(fields.is_empty());
        assert_eq!(fields.capacity(), 0);
    }
}
