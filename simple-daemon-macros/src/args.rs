//! Parse the attribute's arguments, `#[daemon(name = "MyDaemon", mode = "aggressive", syslog)]`.
//!
//! Each key becomes an `Option<(value, Span)>` holding the checked value and the span of the key.
//! Every value is checked here as the runtime's builder would check it, so nothing the attribute
//! accepts fails at run time as a configuration error. Errors point at the offending token and
//! are all collected: a bad value does not hide the next key's mistake.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, Lit, LitStr, Token};

use crate::suggest::nearest;

/// The attribute's keywords.
pub(crate) mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(mode);
    syn::custom_keyword!(interval);
    syn::custom_keyword!(level);
    syn::custom_keyword!(log_path);
    syn::custom_keyword!(log_name);
    syn::custom_keyword!(log_format);
    syn::custom_keyword!(stream);
    syn::custom_keyword!(syslog);
    syn::custom_keyword!(journal);
    syn::custom_keyword!(buffered);
    syn::custom_keyword!(max_log_size);
    syn::custom_keyword!(max_log_files);
    syn::custom_keyword!(rotate_every);
    syn::custom_keyword!(compress);
    syn::custom_keyword!(stop_timeout);
    syn::custom_keyword!(watchdog);
    syn::custom_keyword!(schedule);
    syn::custom_keyword!(timezone);
    syn::custom_keyword!(missed);
    syn::custom_keyword!(jitter);
    syn::custom_keyword!(on_error);
    syn::custom_keyword!(max_backoff);
    syn::custom_keyword!(max_failures);
    syn::custom_keyword!(flavor);
    syn::custom_keyword!(worker_threads);
    syn::custom_keyword!(tick_timeout);
    syn::custom_keyword!(admin);
    syn::custom_keyword!(config);
}

/// Every key, in the order of the documentation.
pub(crate) const KEYS: &[&str] = &[
    "name",
    "mode",
    "interval",
    "level",
    "log_path",
    "log_name",
    "log_format",
    "stream",
    "syslog",
    "journal",
    "buffered",
    "max_log_size",
    "max_log_files",
    "rotate_every",
    "compress",
    "stop_timeout",
    "watchdog",
    "schedule",
    "timezone",
    "missed",
    "jitter",
    "on_error",
    "max_backoff",
    "max_failures",
    "flavor",
    "worker_threads",
    "tick_timeout",
    "admin",
    "config",
    "crate",
];

/// Names a user may bring from the Python seed or from habit, and the key they mean.
const KEY_ALIASES: &[(&str, &str)] = &[
    ("name_app", "name"),
    ("app_name", "name"),
    ("interrupt_mode", "mode"),
    ("run_interval_sec", "interval"),
    ("period", "interval"),
    ("log_lvl", "level"),
    ("log_level", "level"),
    ("stream_handlers", "stream"),
    ("stdout", "stream"),
    ("max_size_byte_log", "max_log_size"),
    ("max_count_file_rotation", "max_log_files"),
    ("rotation", "rotate_every"),
    ("rotate", "rotate_every"),
    ("when", "rotate_every"),
    ("gzip", "compress"),
    ("timeout", "stop_timeout"),
    ("format", "log_format"),
    ("path", "log_path"),
    ("log_dir", "log_path"),
    ("log_file", "log_name"),
    ("journald", "journal"),
    ("systemd_journal", "journal"),
    ("cron", "schedule"),
    ("tz", "timezone"),
    ("time_zone", "timezone"),
    ("missed_tick_behavior", "missed"),
    ("splay", "jitter"),
    ("on_failure", "on_error"),
    ("backoff", "max_backoff"),
    ("max_retries", "max_failures"),
    ("runtime", "flavor"),
    ("threads", "worker_threads"),
    ("workers", "worker_threads"),
    ("metrics", "admin"),
    ("health", "admin"),
    ("config_file", "config"),
    ("conf", "config"),
];

/// `missed = "..."`: the name of a `simple_daemon::Missed` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missed {
    Delay,
    Skip,
    Burst,
}

/// `on_error = "..."`: the name of a `simple_daemon::OnError` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnError {
    Exit,
    Continue,
}

/// The tokio runtime named by `flavor = "..."` (tokio's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The stop mode named by `mode = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Passive,
    Aggressive,
}

/// The log threshold named by `level = "..."`: the name of a `log::LevelFilter` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// What `level = "..."` says: one level, or filter directives (`"info,hyper=warn"`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LevelSpec {
    /// A plain level, passed as a `LevelFilter`.
    Plain(Level),
    /// Directives, passed as the string.
    Directives(String),
}

/// `rotate_every = "..."`: a `simple_daemon::RotateEvery` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RotateEvery {
    Hour,
    Day,
}

/// The parsed and checked arguments. Durations are in milliseconds, sizes in bytes.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<(String, Span)>,
    pub(crate) mode: Option<(Mode, Span)>,
    pub(crate) interval: Option<(u64, Span)>,
    pub(crate) level: Option<(LevelSpec, Span)>,
    pub(crate) log_path: Option<(String, Span)>,
    pub(crate) log_name: Option<(String, Span)>,
    pub(crate) log_format: Option<(String, Span)>,
    pub(crate) stream: Option<(bool, Span)>,
    pub(crate) syslog: Option<(bool, Span)>,
    pub(crate) journal: Option<(bool, Span)>,
    pub(crate) buffered: Option<(bool, Span)>,
    pub(crate) max_log_size: Option<(u64, Span)>,
    pub(crate) max_log_files: Option<(u64, Span)>,
    pub(crate) rotate_every: Option<(RotateEvery, Span)>,
    pub(crate) compress: Option<(bool, Span)>,
    pub(crate) stop_timeout: Option<(u64, Span)>,
    pub(crate) watchdog: Option<(u64, Span)>,
    pub(crate) schedule: Option<(String, Span)>,
    pub(crate) timezone: Option<(String, Span)>,
    pub(crate) missed: Option<(Missed, Span)>,
    pub(crate) jitter: Option<(u64, Span)>,
    pub(crate) on_error: Option<(OnError, Span)>,
    pub(crate) max_backoff: Option<(u64, Span)>,
    pub(crate) max_failures: Option<(u64, Span)>,
    pub(crate) flavor: Option<(Flavor, Span)>,
    pub(crate) worker_threads: Option<(u64, Span)>,
    pub(crate) tick_timeout: Option<(u64, Span)>,
    pub(crate) admin: Option<(String, Span)>,
    pub(crate) config: Option<(String, Span)>,
    pub(crate) krate: Option<(syn::Path, Span)>,
}

/// Errors collected while going on, combined at the end.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn finish<T>(self, ok: T) -> syn::Result<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(ok),
        }
    }
}

/// The value after a key: none (a bare flag), a literal, or other tokens (always an error).
enum Value {
    Bare,
    Lit(Lit),
    Other(TokenStream),
}

impl Args {
    /// Parse `key = value, key, ...`, collecting every error.
    pub(crate) fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let mut args = Args::default();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let key = match parse_key(input) {
                Ok(key) => key,
                Err(e) => {
                    // Not a key at all: nothing after it can be trusted.
                    errors.push(e);
                    return errors.finish(args);
                }
            };
            let value = match parse_value(input) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    return errors.finish(args);
                }
            };
            if let Err(e) = args.set(&key, value) {
                errors.push(e);
            }
            if input.is_empty() {
                break;
            }
            if input.parse::<Token![,]>().is_err() {
                errors.push(syn::Error::new(
                    input.span(),
                    "expected `,` between keys: #[daemon(name = \"MyDaemon\", mode = \"passive\")]",
                ));
                return errors.finish(args);
            }
        }
        errors.finish(args)
    }

    /// Check `value` for `key` and store it, or explain what is wrong with it.
    fn set(&mut self, key: &Ident, value: Value) -> syn::Result<()> {
        let span = key.span();
        let name = key.to_string();
        match name.as_str() {
            "name" => {
                let (s, lit) = string(key, value, "name = \"MyDaemon\"")?;
                check_name(&s).map_err(|m| syn::Error::new(lit.span(), m))?;
                store(&mut self.name, key, s)
            }
            "mode" => {
                let v = mode(key, value)?;
                store(&mut self.mode, key, v)
            }
            "interval" => {
                let ms = duration(key, value, "interval = \"60s\"")?;
                store(&mut self.interval, key, ms)
            }
            "level" => {
                let v = level(key, value)?;
                store(&mut self.level, key, v)
            }
            "log_path" => {
                let (s, lit) = string(key, value, "log_path = \"/var/log/my-daemon\"")?;
                if s.is_empty() || s.contains('\0') {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`log_path` must be a non-empty directory path, absolute or relative to the \
                         working directory",
                    ));
                }
                store(&mut self.log_path, key, s)
            }
            "log_name" => {
                let (s, lit) = string(key, value, "log_name = \"my-daemon.log\"")?;
                check_file_name(&s).map_err(|m| syn::Error::new(lit.span(), m))?;
                store(&mut self.log_name, key, s)
            }
            "log_format" => {
                let (s, lit) = string(
                    key,
                    value,
                    "log_format = \"{time} - {name} - {level} - {message}\"",
                )?;
                if s != "json" {
                    check_template(&s, lit)?;
                }
                store(&mut self.log_format, key, s)
            }
            "stream" => {
                let on = flag(key, value)?;
                store(&mut self.stream, key, on)
            }
            "syslog" => {
                let on = flag(key, value)?;
                store(&mut self.syslog, key, on)
            }
            "journal" => {
                let on = flag(key, value)?;
                store(&mut self.journal, key, on)
            }
            "buffered" => {
                let on = flag(key, value)?;
                store(&mut self.buffered, key, on)
            }
            "max_log_size" => {
                let bytes = size(key, value)?;
                store(&mut self.max_log_size, key, bytes)
            }
            "max_log_files" => {
                let n = count(key, value)?;
                store(&mut self.max_log_files, key, n)
            }
            "rotate_every" => {
                const WORDS: &[&str] = &["1h", "1d"];
                let (s, lit) = string(key, value, "rotate_every = \"1d\" (1h, 1d)")?;
                let v = match s.as_str() {
                    "1h" => RotateEvery::Hour,
                    "1d" => RotateEvery::Day,
                    _ => return Err(word_error(&lit, "rotate_every", &s, WORDS)),
                };
                store(&mut self.rotate_every, key, v)
            }
            "compress" => {
                let on = flag(key, value)?;
                if !cfg!(feature = "compress") {
                    return Err(syn::Error::new(
                        span,
                        "`compress` needs the feature `compress` of simple-daemon: \
                         simple-daemon = { version = \"0.1\", features = [\"compress\"] }",
                    ));
                }
                store(&mut self.compress, key, on)
            }
            "stop_timeout" => {
                let ms = duration(key, value, "stop_timeout = \"30s\"")?;
                store(&mut self.stop_timeout, key, ms)
            }
            "watchdog" => {
                let ms = duration(key, value, "watchdog = \"10s\"")?;
                if ms < 2 {
                    return Err(syn::Error::new(span, "`watchdog` must be at least 2ms"));
                }
                store(&mut self.watchdog, key, ms)
            }
            "schedule" => {
                let (s, lit) = string(key, value, "schedule = \"0 3 * * *\"")?;
                crate::calendar::check_schedule(&s, &lit)?;
                store(&mut self.schedule, key, s)
            }
            "timezone" => {
                let (s, lit) = string(key, value, "timezone = \"Europe/Berlin\"")?;
                crate::calendar::check_timezone(&s, &lit)?;
                store(&mut self.timezone, key, s)
            }
            "missed" => {
                const WORDS: &[&str] = &["delay", "skip", "burst"];
                let (s, lit) = string(key, value, "missed = \"delay\" (delay, skip, burst)")?;
                let v = match s.as_str() {
                    "delay" => Missed::Delay,
                    "skip" => Missed::Skip,
                    "burst" => Missed::Burst,
                    _ => return Err(word_error(&lit, "missed", &s, WORDS)),
                };
                store(&mut self.missed, key, v)
            }
            "jitter" => {
                let ms = duration(key, value, "jitter = \"10s\"")?;
                store(&mut self.jitter, key, ms)
            }
            "on_error" => {
                const WORDS: &[&str] = &["exit", "continue"];
                let (s, lit) = string(key, value, "on_error = \"continue\" (exit, continue)")?;
                let v = match s.as_str() {
                    "exit" => OnError::Exit,
                    "continue" => OnError::Continue,
                    _ => return Err(word_error(&lit, "on_error", &s, WORDS)),
                };
                store(&mut self.on_error, key, v)
            }
            "max_backoff" => {
                let ms = duration(key, value, "max_backoff = \"5m\"")?;
                store(&mut self.max_backoff, key, ms)
            }
            "max_failures" => {
                let n = match &value {
                    Value::Lit(Lit::Int(i)) => match i.base10_parse::<u32>() {
                        Ok(0) => Err(syn::Error::new(
                            i.span(),
                            "`max_failures` must be at least 1 (the consecutive errors that end the daemon)",
                        )),
                        Ok(n) => Ok(u64::from(n)),
                        Err(_) => Err(syn::Error::new(i.span(), "`max_failures` is too large")),
                    },
                    _ => Err(value_error(
                        key,
                        &value,
                        "expected an integer: `max_failures = 5`".into(),
                    )),
                }?;
                store(&mut self.max_failures, key, n)
            }
            "flavor" => {
                let v = flavor(key, value)?;
                store(&mut self.flavor, key, v)
            }
            "worker_threads" => {
                let n = worker_threads(key, value)?;
                store(&mut self.worker_threads, key, n)
            }
            "tick_timeout" => {
                let ms = duration(key, value, "tick_timeout = \"30s\"")?;
                store(&mut self.tick_timeout, key, ms)
            }
            "admin" => {
                let (s, lit) = string(key, value, "admin = \"127.0.0.1:9102\"")?;
                if !cfg!(feature = "admin") {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`admin` needs the feature `admin` of simple-daemon: \
                         simple-daemon = { version = \"0.1\", features = [\"admin\"] }",
                    ));
                }
                if s.parse::<std::net::SocketAddr>().is_err() {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "`admin` must be an IP address and a port, like \"127.0.0.1:9102\" \
                             or \"[::]:9102\", not {s:?}"
                        ),
                    ));
                }
                store(&mut self.admin, key, s)
            }
            "config" => {
                let (s, lit) = string(key, value, "config = \"/etc/my-daemon.toml\"")?;
                if !cfg!(feature = "config") {
                    return Err(syn::Error::new(
                        span,
                        "the `config` key needs the feature \"config\" of simple-daemon (the \
                         operator's file): simple-daemon = { version = \"0.1\", features = [\"config\"] }",
                    ));
                }
                if s.is_empty() || s.contains('\0') {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`config` must be the path of the operator's TOML file, like \"/etc/my-daemon.toml\"",
                    ));
                }
                store(&mut self.config, key, s)
            }
            "crate" => {
                let (_, lit) = string(key, value, "crate = \"my_facade::simple_daemon\"")?;
                let path = lit.parse_with(syn::Path::parse_mod_style).map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        "`crate` must be the path of a crate that re-exports simple_daemon, \
                         like \"::my_facade::simple_daemon\"",
                    )
                })?;
                store(&mut self.krate, key, path)
            }
            _ => Err(unknown_key(key)),
        }
    }
}

/// Store the first occurrence of a key; a second one is an error on the second key.
fn store<T>(slot: &mut Option<(T, Span)>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate key `{key}`: each key may be given once"),
        ));
    }
    *slot = Some((value, key.span()));
    Ok(())
}

/// One key: a known keyword, `crate`, or any other identifier (an error reported by `set`, so
/// parsing goes on).
fn parse_key(input: ParseStream<'_>) -> syn::Result<Ident> {
    macro_rules! known {
        ($($kw:ident),*) => {
            $(
                if input.peek(kw::$kw) {
                    let k: kw::$kw = input.parse()?;
                    return Ok(Ident::new(stringify!($kw), k.span));
                }
            )*
        };
    }
    known!(
        name,
        mode,
        interval,
        level,
        log_path,
        log_name,
        log_format,
        stream,
        syslog,
        journal,
        buffered,
        max_log_size,
        max_log_files,
        rotate_every,
        compress,
        stop_timeout,
        watchdog,
        schedule,
        timezone,
        missed,
        jitter,
        on_error,
        max_backoff,
        max_failures,
        flavor,
        worker_threads,
        tick_timeout,
        admin,
        config
    );
    if input.peek(Token![crate]) {
        let k: Token![crate] = input.parse()?;
        return Ok(Ident::new("crate", k.span));
    }
    if input.peek(Ident::peek_any) {
        return Ident::parse_any(input);
    }
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "expected `key = value`; to name the daemon write `name = {:?}`",
                lit.value()
            ),
        ));
    }
    Err(input.error(format!("expected a key: one of {}", KEYS.join(", "))))
}

/// `= value` up to the next comma, or nothing for a bare flag.
fn parse_value(input: ParseStream<'_>) -> syn::Result<Value> {
    if !input.peek(Token![=]) {
        return Ok(Value::Bare);
    }
    let eq: Token![=] = input.parse()?;
    if input.peek(Lit) {
        // A literal value must be followed by `,` or the end: `name = "x" mode = ...` is a
        // missing comma, not a strange value.
        let lit: Lit = input.parse()?;
        if !input.is_empty() && !input.peek(Token![,]) {
            return Err(
                input.error("expected `,` between keys: #[daemon(name = \"MyDaemon\", mode = \"passive\")]")
            );
        }
        return Ok(Value::Lit(lit));
    }
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        let tt: TokenTree = input.parse()?;
        tokens.extend([tt]);
    }
    if tokens.is_empty() {
        return Err(syn::Error::new(eq.span, "expected a value after `=`"));
    }
    Ok(match syn::parse2::<Lit>(tokens.clone()) {
        Ok(lit) => Value::Lit(lit),
        Err(_) => Value::Other(tokens),
    })
}

fn unknown_key(key: &Ident) -> syn::Error {
    let word = key.to_string();
    let alias = KEY_ALIASES.iter().find(|(a, _)| *a == word).map(|&(_, k)| k);
    let hint = match alias.or_else(|| nearest(&word, KEYS.iter().copied())) {
        Some(k) => format!("; did you mean `{k}`?"),
        None => String::new(),
    };
    syn::Error::new(
        key.span(),
        format!("unknown key `{word}`{hint} Valid keys: {}", KEYS.join(", ")),
    )
}

/// An unknown word for a key with a few valid ones, with a suggestion: by meaning (`retry`
/// means `continue`), else the nearest word.
fn word_error(lit: &LitStr, key: &str, s: &str, words: &[&str]) -> syn::Error {
    const MEANINGS: &[(&str, &str)] = &[
        ("retry", "continue"),
        ("ignore", "continue"),
        ("log", "continue"),
        ("abort", "exit"),
        ("stop", "exit"),
        ("fail", "exit"),
        ("catch_up", "burst"),
        ("catchup", "burst"),
        ("hourly", "1h"),
        ("daily", "1d"),
        ("midnight", "1d"),
        ("h", "1h"),
        ("d", "1d"),
        ("1hour", "1h"),
        ("1day", "1d"),
        ("60m", "1h"),
        ("24h", "1d"),
    ];
    let lower = s.to_lowercase();
    let meant = MEANINGS
        .iter()
        .find(|(w, m)| *w == lower && words.contains(m))
        .map(|&(_, m)| m);
    let expected: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    let expected = expected.join(", ");
    let message = match meant.or_else(|| nearest(s, words.iter().copied())) {
        Some(w) => format!("unknown {key} {s:?}; did you mean \"{w}\"? Expected one of {expected}"),
        None => format!("unknown {key} {s:?}: expected one of {expected}"),
    };
    syn::Error::new(lit.span(), message)
}

/// An error on the value, or on the key when there is none.
fn value_error(key: &Ident, value: &Value, message: String) -> syn::Error {
    match value {
        Value::Bare => syn::Error::new(key.span(), message),
        Value::Lit(lit) => syn::Error::new(lit.span(), message),
        Value::Other(tokens) => syn::Error::new_spanned(tokens, message),
    }
}

/// A string value; `example` shows the key's syntax in the error.
fn string(key: &Ident, value: Value, example: &str) -> syn::Result<(String, LitStr)> {
    match value {
        Value::Lit(Lit::Str(s)) => Ok((s.value(), s)),
        Value::Bare => Err(value_error(
            key,
            &value,
            format!("`{key}` needs a value: {example}"),
        )),
        _ => Err(value_error(key, &value, format!("expected a string: {example}"))),
    }
}

/// A flag: bare (`stream`) or `stream = true|false`.
fn flag(key: &Ident, value: Value) -> syn::Result<bool> {
    match value {
        Value::Bare => Ok(true),
        Value::Lit(Lit::Bool(b)) => Ok(b.value()),
        _ => Err(value_error(
            key,
            &value,
            format!("`{key}` is a flag: write `{key}` or `{key} = true` / `{key} = false`"),
        )),
    }
}

fn mode(key: &Ident, value: Value) -> syn::Result<Mode> {
    const MODES: &[&str] = &["passive", "aggressive"];
    if let Value::Lit(Lit::Bool(b)) = &value {
        let means = if b.value() { "aggressive" } else { "passive" };
        return Err(value_error(
            key,
            &value,
            format!(
                "expected \"passive\" or \"aggressive\"; the seed's `interrupt_mode = {}` is \
                 `mode = \"{means}\"`",
                if b.value() { "True" } else { "False" },
            ),
        ));
    }
    let (s, lit) = string(key, value, "mode = \"passive\" or mode = \"aggressive\"")?;
    match s.as_str() {
        "passive" => Ok(Mode::Passive),
        "aggressive" => Ok(Mode::Aggressive),
        _ => {
            let hint = nearest(&s, MODES.iter().copied())
                .map_or(String::new(), |m| format!("; did you mean \"{m}\"?"));
            Err(syn::Error::new(
                lit.span(),
                format!("unknown mode {s:?}{hint} Expected \"passive\" or \"aggressive\""),
            ))
        }
    }
}

/// `flavor = "current_thread" | "multi_thread"`, tokio's names.
fn flavor(key: &Ident, value: Value) -> syn::Result<Flavor> {
    const FLAVORS: &[&str] = &["current_thread", "multi_thread"];
    let (s, lit) = string(
        key,
        value,
        "flavor = \"current_thread\" or flavor = \"multi_thread\"",
    )?;
    match s.as_str() {
        "current_thread" => Ok(Flavor::CurrentThread),
        "multi_thread" => Ok(Flavor::MultiThread),
        _ => {
            let hint = nearest(&s, FLAVORS.iter().copied())
                .map_or(String::new(), |m| format!("; did you mean \"{m}\"?"));
            Err(syn::Error::new(
                lit.span(),
                format!("unknown flavor {s:?}{hint} Expected \"current_thread\" or \"multi_thread\" (tokio's names)"),
            ))
        }
    }
}

/// `worker_threads = 4`: an integer, at least 1.
fn worker_threads(key: &Ident, value: Value) -> syn::Result<u64> {
    match &value {
        Value::Lit(Lit::Int(i)) => match i.base10_parse::<u64>() {
            Ok(0) => Err(syn::Error::new(i.span(), "`worker_threads` must be at least 1")),
            Ok(n) if n <= 4096 => Ok(n),
            _ => Err(syn::Error::new(
                i.span(),
                "`worker_threads` is too large (at most 4096)",
            )),
        },
        Value::Lit(Lit::Str(s)) => Err(syn::Error::new(
            s.span(),
            format!(
                "expected an integer, not a string: `worker_threads = {}`",
                s.value()
            ),
        )),
        _ => Err(value_error(
            key,
            &value,
            "expected an integer: `worker_threads = 4`".into(),
        )),
    }
}

/// Check filter directives as the runtime's `logging::filter` reads them: comma-separated
/// `level`, `target=level` or a bare `target`.
fn check_directives(s: &str) -> Result<(), String> {
    const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
    for raw in s.split(',') {
        let d = raw.trim();
        if d.is_empty() {
            continue;
        }
        let (target, level) = match d.split_once('=') {
            Some((t, l)) => (Some(t.trim()), l.trim()),
            None if LEVELS.iter().any(|l| l.eq_ignore_ascii_case(d)) => (None, d),
            None => {
                let near = level_hint(d);
                if let Some(n) = near {
                    return Err(format!(
                        "unknown level {d:?} in level directives; did you mean \"{n}\"? Directives are `level`, `target=level` or `target`, comma-separated: \"info,hyper=warn\""
                    ));
                }
                (Some(d), "trace")
            }
        };
        if let Some(t) = target {
            if t.is_empty() {
                return Err(format!(
                    "directive {d:?} has no target before '='; write `target=level`, e.g. \"hyper=warn\""
                ));
            }
            if let Some(bad) = t.chars().find(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '{' | '}' | '/' | '"')
            }) {
                return Err(format!(
                    "directive {d:?}: target {t:?} has {bad:?}; targets are module paths such as my_app::db (span and regex filters are not supported)"
                ));
            }
        }
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            let hint = level_hint(level).map_or(String::new(), |n| format!("; did you mean \"{n}\"?"));
            return Err(format!(
                "unknown level {level:?} in directive {d:?}{hint} Expected one of \"off\", \"error\", \"warn\", \"info\", \"debug\", \"trace\""
            ));
        }
    }
    Ok(())
}

/// The level a misspelt one likely means.
fn level_hint(s: &str) -> Option<&'static str> {
    const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
    match s.to_lowercase().as_str() {
        "warning" => Some("warn"),
        "critical" | "fatal" | "err" => Some("error"),
        "none" => Some("off"),
        _ => nearest(s, LEVELS.iter().copied()),
    }
}

fn level(key: &Ident, value: Value) -> syn::Result<LevelSpec> {
    const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
    const EXAMPLE: &str =
        "level = \"debug\" (error, warn, info, debug, trace), or directives: level = \"info,hyper=warn\"";
    if let Value::Lit(Lit::Int(i)) = &value {
        // The seed's `log_lvl` is a Python level number.
        let named = match i.base10_parse::<u32>().unwrap_or(0) {
            10 => Some("debug"),
            20 => Some("info"),
            30 => Some("warn"),
            40 | 50 => Some("error"),
            _ => None,
        };
        let hint = named.map_or(String::new(), |n| {
            format!("; the seed's `log_lvl = {i}` is `level = \"{n}\"`")
        });
        return Err(value_error(
            key,
            &value,
            format!("expected a string: {EXAMPLE}{hint}"),
        ));
    }
    let (s, lit) = string(key, value, EXAMPLE)?;
    match s.as_str() {
        "error" => Ok(LevelSpec::Plain(Level::Error)),
        "warn" => Ok(LevelSpec::Plain(Level::Warn)),
        "info" => Ok(LevelSpec::Plain(Level::Info)),
        "debug" => Ok(LevelSpec::Plain(Level::Debug)),
        "trace" => Ok(LevelSpec::Plain(Level::Trace)),
        d if d.contains([',', '=']) || d.eq_ignore_ascii_case("off") => {
            check_directives(d).map_err(|m| syn::Error::new(lit.span(), m))?;
            Ok(LevelSpec::Directives(s))
        }
        _ => {
            let near = match s.to_lowercase().as_str() {
                "warning" => Some("warn"),
                "critical" | "fatal" | "err" => Some("error"),
                _ => nearest(&s, LEVELS.iter().copied()),
            };
            let hint = near.map_or(String::new(), |n| format!("; did you mean \"{n}\"?"));
            Err(syn::Error::new(
                lit.span(),
                format!("unknown level {s:?}{hint} Expected one of \"error\", \"warn\", \"info\", \"debug\", \"trace\""),
            ))
        }
    }
}

/// A duration string, `"500ms"`, `"60s"`, `"5m"`, `"1h"`, `"1d"`, in milliseconds; greater than
/// zero.
fn duration(key: &Ident, value: Value, example: &str) -> syn::Result<u64> {
    if let Value::Lit(Lit::Int(i)) = &value {
        return Err(value_error(
            key,
            &value,
            format!(
                "expected a string with a unit: `{key} = \"{}s\"` (units: ms, s, m, h, d)",
                i.base10_digits()
            ),
        ));
    }
    let (s, lit) = string(key, value, example)?;
    let ms = parse_duration(&s).map_err(|m| syn::Error::new(lit.span(), m))?;
    if ms == 0 {
        let why = match key.to_string().as_str() {
            "interval" => "leave `interval` out for ticks back to back",
            "jitter" => "leave `jitter` out for none",
            "stop_timeout" => "for a stop at once use mode = \"aggressive\"",
            _ => "leave it out for none",
        };
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` must be greater than zero ({why})"),
        ));
    }
    Ok(ms)
}

/// The units of a duration and their length in milliseconds.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// `"500ms"`, `"60s"`, `"5m"`, `"1h"`, `"1d"`, with or without spaces before the unit
/// (`"5 s"`). A hint is made from the digits and the unit separately, so `"5 sec"` suggests
/// `"5s"`, not the nearest whole string.
fn parse_duration(s: &str) -> Result<u64, String> {
    const UNITS: &str = "ms, s, m, h, d";
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, rest) = s.split_at(digits);
    let unit = rest.trim_start_matches(' ');
    if number.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: expected a whole number and a unit, like \"500ms\", \"60s\", \"5m\", \"1h\", \"1d\""
        ));
    }
    if unit.starts_with(['.', ',']) {
        return Err(format!(
            "invalid duration {s:?}: whole numbers only; use a smaller unit, like \"1500ms\""
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "duration {s:?} has no unit: write \"{number}s\" (units: {UNITS})"
        ));
    }
    let Some(&(_, factor)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        let near = duration_unit_hint(unit);
        let hint = near.map_or(String::new(), |u| format!("; did you mean \"{number}{u}\"?"));
        return Err(format!(
            "unknown unit {unit:?} in duration {s:?}{hint} Units: {UNITS}"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

/// The unit a misspelt or spelled-out duration unit most likely means: by name
/// (`"sec"`, `"hours"`, `"S"`), else the nearest name (`"sce"`).
fn duration_unit_hint(unit: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("ms", "ms"),
        ("msec", "ms"),
        ("msecs", "ms"),
        ("millis", "ms"),
        ("millisecond", "ms"),
        ("milliseconds", "ms"),
        ("s", "s"),
        ("sec", "s"),
        ("secs", "s"),
        ("second", "s"),
        ("seconds", "s"),
        ("m", "m"),
        ("min", "m"),
        ("mins", "m"),
        ("minute", "m"),
        ("minutes", "m"),
        ("h", "h"),
        ("hr", "h"),
        ("hrs", "h"),
        ("hour", "h"),
        ("hours", "h"),
        ("d", "d"),
        ("day", "d"),
        ("days", "d"),
    ];
    let word = unit.trim().trim_end_matches('.').to_lowercase();
    let unit_of = |name: &str| NAMES.iter().find(|(n, _)| *n == name).map(|&(_, u)| u);
    unit_of(&word).or_else(|| {
        // A one- or two-letter word is too short for an edit distance to mean anything.
        (word.chars().count() > 2)
            .then(|| nearest(&word, NAMES.iter().map(|(n, _)| *n)))
            .flatten()
            .and_then(unit_of)
    })
}

/// A size: an integer of bytes, or a string with an optional unit, greater than zero.
fn size(key: &Ident, value: Value) -> syn::Result<u64> {
    const EXAMPLE: &str = "max_log_size = \"1MiB\" (units: B, KB, MB, GB, KiB, MiB, GiB)";
    let (bytes, span) = match &value {
        Value::Lit(Lit::Int(i)) => {
            let n = i
                .base10_parse::<u64>()
                .map_err(|_| syn::Error::new(i.span(), format!("expected a number of bytes: {EXAMPLE}")))?;
            (n, i.span())
        }
        _ => {
            let (s, lit) = string(key, value, EXAMPLE)?;
            (
                parse_size(&s).map_err(|m| syn::Error::new(lit.span(), m))?,
                lit.span(),
            )
        }
    };
    if bytes == 0 {
        return Err(syn::Error::new(span, "`max_log_size` must be at least 1 byte"));
    }
    Ok(bytes)
}

fn parse_size(s: &str) -> Result<u64, String> {
    const UNITS: &[(&str, u64)] = &[
        ("B", 1),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
    ];
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = s.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "invalid size {s:?}: expected a whole number and an optional unit, like \"64KiB\", \"1MiB\", \"4096\""
        ));
    }
    let factor = if unit.is_empty() {
        1
    } else if let Some(&(_, f)) = UNITS.iter().find(|(u, _)| *u == unit) {
        f
    } else {
        let near = match unit.trim() {
            "K" | "k" | "Ki" | "kib" | "KIB" => Some("KiB"),
            "M" | "m" | "Mi" | "mib" | "MIB" => Some("MiB"),
            "G" | "g" | "Gi" | "gib" | "GIB" => Some("GiB"),
            _ => nearest(unit, UNITS.iter().map(|(u, _)| *u)),
        };
        let hint = near.map_or(String::new(), |u| format!("; did you mean \"{number}{u}\"?"));
        return Err(format!(
            "unknown unit {unit:?} in size {s:?}{hint} Units: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB (powers of 1024)"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// `max_log_files = 2`: an integer, at least 1.
fn count(key: &Ident, value: Value) -> syn::Result<u64> {
    match &value {
        Value::Lit(Lit::Int(i)) => match i.base10_parse::<u64>() {
            Ok(0) => Err(syn::Error::new(
                i.span(),
                "`max_log_files` must be at least 1 (the number of rotated files kept)",
            )),
            Ok(n) if usize::try_from(n).is_ok() => Ok(n),
            _ => Err(syn::Error::new(i.span(), "`max_log_files` is too large")),
        },
        Value::Lit(Lit::Str(s)) => Err(syn::Error::new(
            s.span(),
            format!(
                "expected an integer, not a string: `max_log_files = {}`",
                s.value()
            ),
        )),
        _ => Err(value_error(
            key,
            &value,
            "expected an integer: `max_log_files = 2`".into(),
        )),
    }
}

/// The runtime's rule for a daemon name (it is a log field, the file name and the syslog tag).
fn check_name(name: &str) -> Result<(), String> {
    let bad = name.is_empty()
        || name.len() > 64
        || name
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control() || c == '[' || c == ':');
    if bad {
        return Err(format!(
            "invalid name {name:?}: must be 1 to 64 characters without '/', ':', '[', spaces or \
             control characters (it is the syslog tag and names the log file)"
        ));
    }
    Ok(())
}

/// The runtime's rule for a log file name.
fn check_file_name(name: &str) -> Result<(), String> {
    if let Some((dir, file)) = name.rsplit_once('/') {
        if !dir.is_empty() && !file.is_empty() {
            return Err(format!(
                "`log_name` is a plain file name; for {name:?} write `log_path = {dir:?}, log_name = {file:?}`"
            ));
        }
    }
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "invalid log_name {name:?}: must be a plain file name, without '/'"
        ));
    }
    Ok(())
}

/// The fields a log template may use.
pub(crate) const FIELDS: &[&str] = &["time", "name", "level", "message", "pid", "target", "fields"];

/// Check a line template: `{field}` placeholders from [`FIELDS`], `{{` and `}}` for braces.
/// Each unknown field is its own error on the literal.
fn check_template(s: &str, lit: LitStr) -> syn::Result<()> {
    const VALID: &str =
        "fields: {time}, {name}, {level}, {message}, {pid}, {target}, {fields}; `{{` and `}}` are literal braces; or `log_format = \"json\"` for JSON lines";
    if s.contains("%(") {
        return Err(syn::Error::new(
            lit.span(),
            "log_format uses `{field}` placeholders, not Python's `%(field)s`: the seed's format is \
             \"{time} - {name} - {level} - {message}\"",
        ));
    }
    if s.trim().eq_ignore_ascii_case("json") {
        return Err(syn::Error::new(
            lit.span(),
            "log_format is \"json\" for JSON lines, in lower case; any other value is a line template",
        ));
    }
    let mut errors = Errors::default();
    let mut rest = s;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(char::from(c)) {
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            errors.push(syn::Error::new(
                lit.span(),
                format!("unmatched `}}` in log format; write `}}}}` for a literal brace ({VALID})"),
            ));
            break;
        }
        let Some(j) = after.find('}') else {
            errors.push(syn::Error::new(
                lit.span(),
                format!("unclosed `{{` in log format; write `{{{{` for a literal brace ({VALID})"),
            ));
            break;
        };
        let field = &after[..j];
        if !FIELDS.contains(&field) {
            let near = match field {
                "asctime" | "created" => Some("time"),
                "levelname" | "levelno" | "lvl" => Some("level"),
                "msg" => Some("message"),
                "process" => Some("pid"),
                "module" => Some("target"),
                _ => nearest(field, FIELDS.iter().copied()),
            };
            let hint = near.map_or(String::new(), |f| format!("; did you mean `{{{f}}}`?"));
            errors.push(syn::Error::new(
                lit.span(),
                format!("unknown field `{{{field}}}` in log format{hint} Valid {VALID}"),
            ));
        }
        rest = &after[j + 1..];
    }
    let checked = errors.finish(());
    if checked.is_ok() && !s.replace("{{", "").contains("{message}") {
        return Err(syn::Error::new(
            lit.span(),
            format!("log_format has no `{{message}}`, so every line would lose its message ({VALID})"),
        ));
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("60s"), Ok(60_000));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("5 s"), Ok(5_000));
        assert_eq!(parse_duration("250 ms"), Ok(250));
        assert!(parse_duration("60").is_err_and(|m| m.contains("\"60s\"")));
        assert!(parse_duration("1min").is_err_and(|m| m.contains("did you mean \"1m\"?")));
        for (bad, meant) in [
            ("5 sec", "5s"),
            ("1 hr", "1h"),
            ("2 days", "2d"),
            ("30 Seconds", "30s"),
            ("5S", "5s"),
            ("100 msec", "100ms"),
            ("3 mins", "3m"),
            ("10 sce", "10s"),
        ] {
            let hint = format!("did you mean \"{meant}\"?");
            assert!(parse_duration(bad).is_err_and(|m| m.contains(&hint)), "{bad}");
        }
        assert!(parse_duration("5 w").is_err_and(|m| !m.contains("did you mean")));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("1M").is_err_and(|m| m.contains("\"1MiB\"")));
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("MyDaemon").is_ok());
        assert!(check_name("my daemon").is_err());
        assert!(check_name("").is_err());
        assert!(check_file_name("x.log").is_ok());
        assert!(check_file_name("/var/log/x.log").is_err_and(|m| m.contains("log_path = \"/var/log\"")));
        assert!(check_file_name("..").is_err());
    }
}
