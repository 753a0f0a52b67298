//! Cross-crate tests of simple-daemon (see `tests/`).
