//! Runnable examples of simple-daemon: `cargo run --example NAME`.
