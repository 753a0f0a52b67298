//! Compile tests of `#[daemon]` with simple-daemon's `tokio` feature off (trybuild builds each
//! case against this package's dependencies, so the workspace's other members, which enable
//! the feature, do not turn it on here).
//!
//! `ui/*.rs`: an async form without the feature is one error, on the `async` token, naming the
//! feature and the Cargo.toml line; so is each of `schedule` and `timezone` without the feature
//! `schedule`, `compress` without the feature `compress`, `admin` without the feature `admin`,
//! and the `config` key and a settings parameter of `new` without the feature `config` (all off
//! here too). Regenerate with
//! `TRYBUILD=overwrite cargo test -p simple-daemon-tests-no-tokio --test ui`, then read every
//! changed `.stderr` before committing.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
