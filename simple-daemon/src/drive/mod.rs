//! Thin drivers over the [`lifecycle`](crate::lifecycle): each runs the user's code its own way
//! and leaves start-up, the stop decision and the end of the process to the lifecycle.
//!
//! - [`sync`]: [`SimpleDaemon::run`](crate::SimpleDaemon::run) and
//!   [`run_with`](crate::SimpleDaemon::run_with), the tick loop;
//! - [`guard`]: [`SimpleDaemon::start`](crate::SimpleDaemon::start) and [`Running`], the seed's
//!   hand-written loop.

mod guard;
mod sync;

pub use guard::Running;
