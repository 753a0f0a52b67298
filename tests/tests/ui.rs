//! Compile tests of `#[daemon]` (trybuild).
//!
//! `ui/fail/*.rs`: realistic mistakes, each with the reviewed compiler output beside it
//! (`*.stderr`: one error, on the offending token, with a suggestion where one helps).
//! Regenerate with `TRYBUILD=overwrite cargo test -p simple-daemon-tests --test ui`, then read
//! every changed `.stderr` before committing.
//!
//! `ui/pass/*.rs`: every form and key compiles, starts (logging into the test's build
//! directory) and ends in its first tick with status 0: what the attribute accepts, the runtime
//! accepts too. That each key then takes effect (a level filters, a format formats,
//! `max_log_files` keeps that many) is checked on a running binary by `tests/keys.rs`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
