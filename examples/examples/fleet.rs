//! A daemon for a fleet: the admin listener (`/healthz`, `/readyz`, `/metrics`) with a metric of
//! its own, a bounded passive stop, and the Kubernetes Deployment and Dockerfile that go with it.
//!
//! Run it: `cargo run --example fleet`, then in another shell:
//!
//! ```text
//! curl -s localhost:9102/healthz            # ok
//! curl -s localhost:9102/readyz             # ready
//! curl -s localhost:9102/metrics | grep -E '^(simple_daemon_ticks_total|fleet_jobs_total)'
//! cargo run --example fleet -- --print-kubernetes > fleet.yaml
//! ```
//!
//! It listens on `0.0.0.0:9102` because that is what a pod needs (the kubelet probes the pod's
//! address); on a host, `127.0.0.1:9102` keeps it private. A SIGTERM (what Kubernetes sends)
//! is a passive stop: the job in progress ends, `on_stop` runs; past `stop_timeout` (20 s) the
//! daemon ends the stop itself, and the printed `terminationGracePeriodSeconds` (25) leaves it
//! the margin before the kubelet's SIGKILL. `deploy/Dockerfile` builds it into an image.

use simple_daemon::admin::prometheus_client::metrics::counter::Counter;
use simple_daemon::log::info;
use simple_daemon::{daemon, Context};

struct Fleet {
    jobs: Counter,
}

#[daemon(
    name = "Fleet",
    interval = "5s",
    stop_timeout = "20s",
    tick_timeout = "60s",
    admin = "0.0.0.0:9102",
    level = "info",
    stream
)]
impl Fleet {
    /// Register the daemon's own metric: it appears on `/metrics` beside the daemon's.
    fn new() -> Result<Self, std::convert::Infallible> {
        let jobs = Counter::default();
        simple_daemon::admin::registry().register("fleet_jobs", "Jobs done", jobs.clone());
        Ok(Fleet { jobs })
    }

    /// One job: counted, logged.
    fn tick(&mut self, ctx: &Context) {
        self.jobs.inc();
        info!("job {} done", self.jobs.get());
        ctx.status(&format!("{} job(s) done", self.jobs.get()));
    }

    /// After a passive stop (a SIGTERM from the kubelet).
    fn on_stop(&mut self) {
        info!("stopping after {} job(s)", self.jobs.get());
    }
}
