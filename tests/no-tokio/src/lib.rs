//! Compile tests of `#[daemon]` with the `tokio` feature off: see `tests/ui.rs`. The crate
//! itself is empty; its manifest is the point (simple-daemon with its default features only).
