//! Property tests, short and deterministic (a fixed ChaCha seed, a small number of cases, no
//! regression files): the builder's validation never panics and accepts exactly the templates
//! the documented grammar allows; the rotator, black-box through a real daemon, never lets a
//! file pass the limit, never splits a line, and keeps the order.
//!
//! Not covered here: the attribute's own duration and size parsers live privately in the
//! proc-macro crate (`simple-daemon-macros/src/args.rs`), which can export nothing but the
//! macro; their properties belong in unit tests inside that crate.

mod fault_common;

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use simple_daemon::SimpleDaemon;

use fault_common::{record_asserted, Fd};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// The documented template grammar: `{{`, `}}`, `{field}` with a known field, other text;
/// `{message}` somewhere, or exactly `json`.
fn template_ok(t: &str) -> bool {
    const FIELDS: [&str; 7] = ["time", "name", "level", "message", "pid", "target", "fields"];
    if t == "json" {
        return true;
    }
    if t.trim().eq_ignore_ascii_case("json") {
        return false;
    }
    let mut message = false;
    let mut rest = t;
    while let Some(i) = rest.find(['{', '}']) {
        let after = &rest[i + 1..];
        if rest[i..].starts_with("{{") || rest[i..].starts_with("}}") {
            rest = &rest[i + 2..];
        } else if rest[i..].starts_with('}') {
            return false;
        } else {
            let Some(j) = after.find('}') else {
                return false;
            };
            if !FIELDS.contains(&&after[..j]) {
                return false;
            }
            message |= &after[..j] == "message";
            rest = &after[j + 1..];
        }
    }
    // A template must place the message somewhere.
    message
}

fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{time}".to_owned()),
        Just("{name}".to_owned()),
        Just("{level}".to_owned()),
        Just("{message}".to_owned()),
        Just("{pid}".to_owned()),
        Just("{target}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("{lvl}".to_owned()),
        Just("{}".to_owned()),
        Just(" - ".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

#[test]
fn the_builder_never_panics_and_accepts_exactly_the_valid_templates() {
    let strategy = (
        any::<String>(),
        prop::option::of(any::<String>()),
        template(),
        any::<u64>(),
        any::<usize>(),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
    );
    let mut r = runner(512);
    let result = r.run(
        &strategy,
        |(name, log_name, fmt, size, files, stop_ms, wd_ms, interval_s)| {
            let mut b = SimpleDaemon::new(name.clone())
                .log_format(fmt.clone())
                .max_log_size(size)
                .max_log_files(files);
            if let Some(n) = &log_name {
                b = b.log_name(n.clone());
            }
            if let Some(ms) = stop_ms {
                b = b.stop_timeout(Duration::from_millis(ms));
            }
            if let Some(ms) = wd_ms {
                b = b.watchdog(Duration::from_millis(ms));
            }
            if let Some(s) = interval_s {
                b = b.interval(Duration::from_secs(s));
            }
            let res = std::panic::catch_unwind(|| b.config());
            let Ok(res) = res else {
                return Err(TestCaseError::fail("config() panicked"));
            };
            match res {
                Ok(c) => {
                    prop_assert_eq!(c.name(), name.as_str());
                    prop_assert!(c.max_log_size() >= 1 && c.max_log_files() >= 1);
                    prop_assert!(template_ok(&fmt), "accepted bad template {:?}", fmt);
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(!msg.is_empty());
                    prop_assert_eq!(e.exit_code(), 78);
                    let named = [
                        "name",
                        "log_name",
                        "log_format",
                        "max_log_size",
                        "max_log_files",
                        "stop_timeout",
                        "watchdog",
                    ]
                    .iter()
                    .any(|s| msg.starts_with(&format!("invalid {s} ")));
                    prop_assert!(named, "the error names no setting: {}", msg);
                }
            }
            // With every other setting valid, the template alone decides.
            let only = SimpleDaemon::new("P").log_format(fmt.clone()).config();
            prop_assert_eq!(only.is_ok(), template_ok(&fmt), "template {:?}", fmt);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    record_asserted(
        "property: builder validation (random names, templates, sizes, durations)",
        512,
        None,
        "no log lines involved: each value accepted or refused as the grammar says",
        "no panic; a template is accepted iff the grammar allows it",
    );
}

/// One rotation case on a real daemon: records of `lens` bytes, `{message}` lines, a size limit
/// of `max` and `files` backups. Returns the number of records found.
fn rotate_case(lens: &[usize], max: u64, files: usize) -> Result<u64, TestCaseError> {
    let dir = simple_daemon_tests::TempDir::new("rot");
    let spec = dir.path().join("records");
    let text: Vec<String> = lens.iter().map(usize::to_string).collect();
    std::fs::write(&spec, text.join(" ")).expect("records file");
    let tick = format!("records:{}", spec.display());
    let max_s = max.to_string();
    let files_s = files.to_string();
    let mut fd: Fd = fault_common::spawn_in(
        dir,
        &[
            ("FD_TICK", tick.as_str()),
            ("FD_LOG_FORMAT", "{message}"),
            ("FD_LEVEL", "info"),
            ("FD_MAX_LOG_SIZE", max_s.as_str()),
            ("FD_MAX_LOG_FILES", files_s.as_str()),
        ],
        false,
    );
    // The last record or `records done` may have rotated out of the main file: wait on all.
    let all = |fd: &Fd| {
        let mut names = vec![fd.log.clone()];
        for i in 1..=files {
            let mut p = fd.log.clone().into_os_string();
            p.push(format!(".{i}"));
            names.push(p.into());
        }
        names
    };
    let done = simple_daemon_tests::wait_until(simple_daemon_tests::PATIENCE, || {
        all(&fd)
            .iter()
            .any(|p| simple_daemon_tests::read(p).contains("records done"))
    });
    prop_assert!(done, "the daemon never logged its records");
    fd.signal(libc::SIGTERM);
    let (code, _, err) = fd.exit();
    prop_assert_eq!(code, 0, "{}", err);
    // Oldest first: x.log.N ... x.log.1, x.log.
    let mut names = all(&fd);
    names.reverse();
    let mut seen: Vec<usize> = Vec::new();
    let mut present = 0;
    for p in &names {
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        present += 1;
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let lines = text.lines().count();
        prop_assert!(
            bytes.len() as u64 <= max || lines == 1,
            "{} has {} bytes over the limit {} in {} lines",
            p.display(),
            bytes.len(),
            max,
            lines
        );
        prop_assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends mid-line",
            p.display()
        );
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("rec ") {
                let (i, pad) = rest.split_once(' ').unwrap_or((rest, ""));
                let i: usize = i
                    .parse()
                    .map_err(|_| TestCaseError::fail(format!("cut line {line:?}")))?;
                prop_assert!(i < lens.len(), "bad record number {}", i);
                prop_assert_eq!(pad.len(), lens[i], "record {} split or cut", i);
                prop_assert!(pad.bytes().all(|b| b == b'r'), "record {} mixed", i);
                seen.push(i);
            }
        }
    }
    prop_assert!(present <= files + 1, "{} files for {} backups", present, files);
    // In order, without a gap, ending with the last record (older ones may have rotated out).
    for w in seen.windows(2) {
        prop_assert_eq!(w[1], w[0] + 1, "records out of order or missing");
    }
    prop_assert_eq!(
        seen.last().copied(),
        Some(lens.len() - 1),
        "the last record is missing"
    );
    Ok(seen.len() as u64)
}

#[test]
fn the_rotator_never_passes_the_limit_never_splits_a_line_and_keeps_order() {
    let strategy = (prop::collection::vec(0usize..400, 1..80), 32u64..1500, 1usize..6);
    let mut r = runner(6);
    let found = std::sync::atomic::AtomicU64::new(0);
    let result = r.run(&strategy, |(lens, max, files)| {
        let n = rotate_case(&lens, max, files)?;
        found.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    let found = found.into_inner();
    if let Err(e) = result {
        panic!("{e}");
    }
    record_asserted(
        "property: rotation on a real daemon (random record sizes, limits, backups)",
        6,
        Some(found),
        "older records rotate out by design; the records found in each case are a gap-free, ordered tail ending with the last one logged",
        "no file over the limit, no line split, order kept",
    );
}
