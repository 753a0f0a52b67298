//! The admin listener (feature `admin`): `/healthz`, `/readyz` and the Prometheus `/metrics`
//! page over HTTP/1.1, on threads of its own.
//!
//! Set it with the `admin` key (`#[daemon(admin = "127.0.0.1:9102")]`) or
//! [`SimpleDaemon::admin`](crate::SimpleDaemon::admin). Routes (`GET` or `HEAD`):
//!
//! | path | answer |
//! |---|---|
//! | `/healthz` | `200 ok` while the daemon is live; `503` while a tick has run past `tick_timeout`. A passive stop keeps it live: a draining pod is not killed for it |
//! | `/readyz` | `200 ready` once `new` returned, until a stop is requested; `503` before, and from the moment the first stop signal arrives |
//! | `/metrics` | the Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper's `Accept` asks for `application/openmetrics-text` |
//! | anything else | `404`; another method `405`; a request that does not parse, or a head larger than 8 KiB, `400` |
//!
//! The metrics, each labelled `daemon="<name>"`: `simple_daemon_ticks_total{result="ok"|"error"}`,
//! `simple_daemon_tick_duration_seconds` (a histogram), `simple_daemon_last_success_timestamp_seconds`,
//! `simple_daemon_tick_in_progress`, `simple_daemon_stopping`, `simple_daemon_reloads_total`,
//! `simple_daemon_log_records_total{level}`, and the standard `process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//! `process_max_fds`, `process_start_time_seconds`. Register your own through
//! [`registry`], with the [`prometheus_client`] crate: they appear on the same page, labelled
//! `daemon="<name>"` too.
//!
//! Promises: the listener never holds a tick or a stop (it runs on its own threads and reads
//! atomics; a scrape holds the registry's lock for the encoding only); at most
//! [`MAX_CONNECTIONS`] connections are open at once (the ones past it are closed at once);
//! each must send its request head, at most [`MAX_REQUEST`] bytes, within [`READ_WAIT`], and one
//! request is answered per connection (`Connection: close`). A port that cannot be bound at
//! start is exit status 78, with one sentence naming `admin` and the address.
//!
//! A Prometheus scrape configuration for it:
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: my-daemon
//!     static_configs:
//!       - targets: ['127.0.0.1:9102']
//! ```

use std::net::TcpListener;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

pub use prometheus_client;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::context::Shared;
use crate::error::Error;

mod http;
mod metrics;

/// The most connections open at once; the ones past it are closed without an answer.
pub const MAX_CONNECTIONS: usize = 128;
/// The largest request head (request line and headers) read; a larger one gets `400`.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long a client has to send its request head, and to take the answer.
pub const READ_WAIT: Duration = Duration::from_secs(5);

/// The registry of the `/metrics` page: register your own metrics here, with the
/// [`prometheus_client`] crate (re-exported as `simple_daemon::admin::prometheus_client`), in
/// `new` or at any time; they appear on the page next to the daemon's own, as they are at each
/// scrape. Each of their samples gets the label `daemon="<name>"` first, as the daemon's own
/// have (unless you give one a `daemon` label yourself), besides the labels you give them.
///
/// ```
/// use simple_daemon::admin::prometheus_client::metrics::counter::Counter;
///
/// let jobs = Counter::<u64>::default();
/// simple_daemon::admin::registry().register("my_jobs", "Jobs done", jobs.clone());
/// jobs.inc(); // in a tick: one atomic add
/// ```
///
/// # Panics
///
/// Never: a poisoned lock (a panic while another thread held it) is taken over.
pub fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// Bind the listener, when `admin` is set: before the signal handlers, so a busy port ends the
/// start with nothing to undo.
pub(crate) fn bind(config: &Config) -> Result<Option<TcpListener>, Error> {
    let Some(address) = config.admin else {
        return Ok(None);
    };
    TcpListener::bind(address)
        .map(Some)
        .map_err(|source| Error::Admin { address, source })
}

/// Register the daemon's metrics and start answering on `listener`.
pub(crate) fn serve(listener: TcpListener, config: &Config, shared: &Arc<Shared>) -> Result<(), Error> {
    let address = listener.local_addr().map_err(|source| Error::Admin {
        address: config.admin.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        source,
    })?;
    metrics::install(&config.name, shared);
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("simple-daemon-admin".into())
        .stack_size(128 * 1024)
        .spawn(move || http::accept(&listener, &shared))
        .map_err(|source| Error::Admin { address, source })?;
    log::info!("Admin listening on http://{address} (/healthz, /readyz, /metrics)");
    Ok(())
}
