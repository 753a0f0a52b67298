//! Thin drivers over the [`lifecycle`](crate::lifecycle): each runs the user's code its own way
//! and leaves start-up, the stop decision and the end of the process to the lifecycle.
//!
//! - [`sync`]: [`SimpleDaemon::run`](crate::SimpleDaemon::run) and
//!   [`run_with`](crate::SimpleDaemon::run_with), the tick loop;
//! - [`guard`]: [`SimpleDaemon::start`](crate::SimpleDaemon::start) and [`Running`], the seed's
//!   hand-written loop;
//! - [`tokio`] (feature `tokio`): [`AsyncDaemon`](crate::AsyncDaemon), the same lifecycle with
//!   the user's code as a future that an aggressive stop cancels.

mod guard;
pub(crate) mod sync;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

pub use guard::Running;
