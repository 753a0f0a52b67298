//! Benchmarks (see the bench issue).
