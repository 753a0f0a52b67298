//! Expansion snapshots of `#[daemon]` (macrotest, which runs `cargo expand`).
//!
//! Each `expand/*.rs` has its reviewed expansion beside it in `*.expanded.rs`. A missing or
//! different snapshot fails the test; nothing is written unless asked:
//! `MACROTEST=overwrite cargo test -p simple-daemon-tests --test expand`, then review the diff.
//!
//! Needs `cargo expand`: `cargo install cargo-expand` (it works on stable).

use std::process::Command;

#[test]
fn expand() {
    let installed = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["expand", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "the expansion snapshots need cargo-expand: cargo install cargo-expand"
    );
    if std::env::var_os("MACROTEST").is_some_and(|v| v == "overwrite") {
        macrotest::expand("tests/expand/*.rs");
    } else {
        // Fails on a missing `.expanded.rs` instead of writing it.
        macrotest::expand_without_refresh("tests/expand/*.rs");
    }
}
