//! What the daemon prints to be installed: the systemd unit (`--print-systemd-unit`,
//! [`Config::systemd_unit`](crate::Config::systemd_unit)) and the Kubernetes Deployment
//! (`--print-kubernetes`, [`Config::kubernetes_manifest`](crate::Config::kubernetes_manifest)),
//! each made from the code's own configuration.
//!
//! Promises: the printing reads the [`Config`](crate::Config) only (no file, no environment
//! but the binary's own path), so the same configuration prints the same text.

use std::time::Duration;

mod kubernetes;
mod systemd;

pub(crate) use systemd::host_systemd_version;
pub use systemd::STOP_TIMEOUT_MARGIN;

/// A duration in systemd's time-span syntax: whole seconds as `Ns`, else milliseconds (rounded
/// up, so a watchdog or timeout is never shortened).
pub(crate) fn timespan(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_nanos().div_ceil(1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_round_up_to_milliseconds() {
        assert_eq!(timespan(Duration::from_secs(2)), "2s");
        assert_eq!(timespan(Duration::from_micros(2_500_001)), "2501ms");
    }
}
