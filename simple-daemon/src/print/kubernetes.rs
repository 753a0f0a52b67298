//! The Kubernetes Deployment `--print-kubernetes` prints ([`Config::kubernetes_manifest`]).
//!
//! Promises: the manifest agrees with the code's own configuration: the probes are on the
//! `admin` port (`/healthz` for liveness, `/readyz` for readiness),
//! `terminationGracePeriodSeconds` is [`STOP_TIMEOUT_MARGIN`] above `stop_timeout` (so the
//! daemon's own escalation comes before the kubelet's SIGKILL), the log file lies in an
//! `emptyDir` sized for the rotation, and what cannot agree (no `admin`, a loopback `admin`,
//! `stream` off) is said in a comment at the top. Every string taken from the configuration is
//! a double-quoted YAML scalar, so the text always parses.

use std::fmt::Write as _;
use std::time::Duration;

use super::systemd::STOP_TIMEOUT_MARGIN;
use crate::config::{Config, Mode, SimpleDaemon};
use crate::error::Error;

/// The user and group the container runs as: distroless's `nonroot`, which the example
/// Dockerfile uses too.
const RUN_AS: u32 = 65532;
/// Kubernetes's own default grace period, printed when nothing bounds the stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

impl Config {
    /// A Kubernetes Deployment that runs this daemon: what `--print-kubernetes` prints.
    ///
    /// - One container, image `<name>:<version>` (`latest` without a [`version`](SimpleDaemon::version)),
    ///   run as PID 1 (the daemon reaps orphans there), as user 65532, with a read-only root file
    ///   system, no privilege escalation and no capabilities.
    /// - With [`admin`](SimpleDaemon::admin) (feature `admin`): the port named `admin`, a
    ///   `livenessProbe` on `/healthz` and a `readinessProbe` on `/readyz`, and the
    ///   `prometheus.io/*` annotations. A loopback `admin` address gets a warning: the kubelet
    ///   probes the pod's address, so the listener must be on `0.0.0.0` or `[::]`.
    /// - `terminationGracePeriodSeconds`: Kubernetes stops a pod with SIGTERM, waits the grace
    ///   period, then sends SIGKILL. SIGTERM starts the daemon's stop; a passive stop escalates
    ///   by itself when [`stop_timeout`](SimpleDaemon::stop_timeout) elapses and the process is
    ///   gone within a second after, so the grace period is `stop_timeout` plus
    ///   [`STOP_TIMEOUT_MARGIN`] (5 s), rounded up to a second. An aggressive daemon gets the
    ///   margin alone; a passive one without `stop_timeout` gets Kubernetes's default 30 s and
    ///   a comment saying the tick may be killed mid-way.
    /// - The log: `kubectl logs` reads stdout, which the daemon writes with
    ///   [`stream`](SimpleDaemon::stream) on (a comment says so when it is off); the log file goes
    ///   to an `emptyDir` mounted at `$LOGS_DIRECTORY` (or at [`log_path`](SimpleDaemon::log_path)),
    ///   sized for the rotated files.
    ///
    /// ```
    /// use simple_daemon::SimpleDaemon;
    /// use std::time::Duration;
    ///
    /// let manifest = SimpleDaemon::new("Heartbeat")
    ///     .version("1.2.0")
    ///     .stream(true)
    ///     .stop_timeout(Duration::from_secs(20))
    ///     .config()?
    ///     .kubernetes_manifest();
    /// for line in [
    ///     "kind: Deployment",
    ///     "  name: \"heartbeat\"",
    ///     "      terminationGracePeriodSeconds: 25",
    ///     "          image: \"heartbeat:1.2.0\"",
    ///     "            readOnlyRootFilesystem: true",
    /// ] {
    ///     assert!(manifest.lines().any(|l| l == line), "{line}");
    /// }
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn kubernetes_manifest(&self) -> String {
        let name = dns_label(self.name());
        let shown = comment_safe(self.name());
        let mut m = String::new();
        let _ = writeln!(
            m,
            "# {shown}: a simple-daemon Deployment, printed by --print-kubernetes from the code's own configuration."
        );
        let _ = writeln!(
            m,
            "# Build and push the image (simple-daemon's deploy/Dockerfile is an example), set"
        );
        let _ = writeln!(m, "# `image:` below to it, then: kubectl apply -f {name}.yaml");
        let _ = writeln!(m, "#");
        for line in self.stop_comment() {
            let _ = writeln!(m, "# {line}");
        }
        for line in self.warnings() {
            let _ = writeln!(m, "# WARNING: {line}");
        }
        let _ = writeln!(m, "apiVersion: apps/v1");
        let _ = writeln!(m, "kind: Deployment");
        let _ = writeln!(m, "metadata:");
        let _ = writeln!(m, "  name: {}", quote(&name));
        let _ = writeln!(m, "  labels:");
        let _ = writeln!(m, "    app.kubernetes.io/name: {}", quote(&name));
        let _ = writeln!(m, "spec:");
        let _ = writeln!(m, "  replicas: 1");
        let _ = writeln!(m, "  selector:");
        let _ = writeln!(m, "    matchLabels:");
        let _ = writeln!(m, "      app.kubernetes.io/name: {}", quote(&name));
        let _ = writeln!(m, "  template:");
        let _ = writeln!(m, "    metadata:");
        let _ = writeln!(m, "      labels:");
        let _ = writeln!(m, "        app.kubernetes.io/name: {}", quote(&name));
        let admin = self.admin();
        if let Some(a) = admin {
            let _ = writeln!(m, "      annotations:");
            let _ = writeln!(m, "        prometheus.io/scrape: \"true\"");
            let _ = writeln!(m, "        prometheus.io/port: \"{}\"", a.port());
            let _ = writeln!(m, "        prometheus.io/path: \"/metrics\"");
        }
        let _ = writeln!(m, "    spec:");
        let _ = writeln!(
            m,
            "      terminationGracePeriodSeconds: {}",
            self.grace_period().as_secs()
        );
        let _ = writeln!(m, "      securityContext:");
        let _ = writeln!(m, "        runAsNonRoot: true");
        let _ = writeln!(m, "        runAsUser: {RUN_AS}");
        let _ = writeln!(m, "        runAsGroup: {RUN_AS}");
        let _ = writeln!(m, "        fsGroup: {RUN_AS}");
        let _ = writeln!(m, "      containers:");
        let _ = writeln!(m, "        - name: {}", quote(&name));
        let _ = writeln!(m, "          image: {}", quote(&self.image(&name)));
        let log_dir = match &self.log_path {
            Some(dir) => dir.to_string_lossy().into_owned(),
            None => {
                let dir = format!("/var/log/{name}");
                let _ = writeln!(m, "          env:");
                let _ = writeln!(m, "            # Where the daemon puts its log file.");
                let _ = writeln!(m, "            - name: LOGS_DIRECTORY");
                let _ = writeln!(m, "              value: {}", quote(&dir));
                dir
            }
        };
        if let Some(a) = admin {
            let _ = writeln!(m, "          ports:");
            let _ = writeln!(m, "            - name: admin");
            let _ = writeln!(m, "              containerPort: {}", a.port());
            let _ = writeln!(m, "              protocol: TCP");
            let _ = writeln!(
                m,
                "          # 503 while a tick runs past tick_timeout: restarted after 30 s of it."
            );
            let _ = writeln!(m, "          livenessProbe:");
            probe(&mut m, "/healthz", 10, 3);
            let _ = writeln!(
                m,
                "          # 503 until new() returned, and from the first stop signal on."
            );
            let _ = writeln!(m, "          readinessProbe:");
            probe(&mut m, "/readyz", 5, 1);
        }
        let _ = writeln!(m, "          resources:");
        let _ = writeln!(m, "            requests:");
        let _ = writeln!(m, "              cpu: \"10m\"");
        let _ = writeln!(m, "              memory: \"16Mi\"");
        let _ = writeln!(m, "          securityContext:");
        let _ = writeln!(m, "            allowPrivilegeEscalation: false");
        let _ = writeln!(m, "            readOnlyRootFilesystem: true");
        let _ = writeln!(m, "            capabilities:");
        let _ = writeln!(m, "              drop: [\"ALL\"]");
        let _ = writeln!(m, "          volumeMounts:");
        let _ = writeln!(m, "            - name: logs");
        let _ = writeln!(m, "              mountPath: {}", quote(&log_dir));
        let _ = writeln!(m, "      volumes:");
        let _ = writeln!(m, "        # The log file and its rotated copies.");
        let _ = writeln!(m, "        - name: logs");
        let _ = writeln!(m, "          emptyDir:");
        let _ = writeln!(m, "            sizeLimit: \"{}Mi\"", self.log_volume_mib());
        m
    }

    /// `terminationGracePeriodSeconds`: see [`kubernetes_manifest`](Self::kubernetes_manifest).
    fn grace_period(&self) -> Duration {
        let bound = match (self.mode(), self.stop_timeout()) {
            (Mode::Aggressive, _) => STOP_TIMEOUT_MARGIN,
            (Mode::Passive, Some(t)) => t.saturating_add(STOP_TIMEOUT_MARGIN),
            (Mode::Passive, None) => DEFAULT_GRACE,
        };
        Duration::from_secs(bound.as_secs() + u64::from(bound.subsec_nanos() > 0))
    }

    /// The comment at the top on how a stop goes.
    fn stop_comment(&self) -> Vec<String> {
        let grace = self.grace_period().as_secs();
        let mut c = vec![
            "The stop: Kubernetes sends SIGTERM, waits terminationGracePeriodSeconds, then SIGKILL."
                .to_owned(),
        ];
        match (self.mode(), self.stop_timeout()) {
            (Mode::Aggressive, _) => c.push(format!(
                "SIGTERM is an aggressive stop here: the daemon ends within a second; {grace} s is the margin."
            )),
            (Mode::Passive, Some(t)) => {
                c.push(format!(
                    "SIGTERM is a passive stop here: the tick in progress ends and on_stop runs; past stop_timeout ({})",
                    super::timespan(t)
                ));
                c.push(format!(
                    "the daemon escalates to an aggressive stop itself and is gone within a second, so the grace period ({grace} s)"
                ));
                c.push(format!(
                    "is stop_timeout + {} s and the daemon's own escalation comes before the SIGKILL.",
                    STOP_TIMEOUT_MARGIN.as_secs()
                ));
            }
            (Mode::Passive, None) => {
                c.push(format!(
                    "SIGTERM is a passive stop here, with no stop_timeout: a tick still running after {grace} s (Kubernetes's"
                ));
                c.push(
                    "default) is killed mid-way. Set stop_timeout; the grace period then follows it.".to_owned(),
                );
            }
        }
        c
    }

    /// What in the configuration does not fit a pod.
    fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.admin() {
            None => w.push(
                "no admin listener, so no probes: set `admin = \"0.0.0.0:9102\"` (feature admin) for /healthz and /readyz."
                    .to_owned(),
            ),
            Some(a) if a.ip().is_loopback() => w.push(format!(
                "admin listens on {a}, but the kubelet probes the pod's address: use 0.0.0.0:{} or [::]:{}, or the probes fail.",
                a.port(),
                a.port()
            )),
            Some(_) => {}
        }
        if !self.stream {
            w.push(
                "stream is off, so `kubectl logs` shows nothing (the log goes to the file only): turn on `stream`."
                    .to_owned(),
            );
        }
        w
    }

    /// `<name>:<version>`, or `:latest` when the version is no valid image tag.
    fn image(&self, name: &str) -> String {
        let tag = self
            .version()
            .filter(|v| {
                v.len() <= 128
                    && !v.starts_with(['.', '-'])
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            })
            .unwrap_or("latest");
        format!("{name}:{tag}")
    }

    /// The log volume: the live file and each rotated one at the size limit, plus 1 MiB.
    fn log_volume_mib(&self) -> u64 {
        let files = (self.max_log_files() as u64).saturating_add(1);
        files
            .saturating_mul(self.max_log_size())
            .div_ceil(1024 * 1024)
            .saturating_add(1)
    }
}

/// A probe's lines under `livenessProbe:` or `readinessProbe:`.
fn probe(m: &mut String, path: &str, period: u32, failures: u32) {
    let _ = writeln!(m, "            httpGet:");
    let _ = writeln!(m, "              path: {path}");
    let _ = writeln!(m, "              port: admin");
    let _ = writeln!(m, "            periodSeconds: {period}");
    let _ = writeln!(m, "            timeoutSeconds: 2");
    let _ = writeln!(m, "            failureThreshold: {failures}");
}

/// The name as an RFC 1123 label (what Kubernetes accepts for a Deployment and a container):
/// lower case, `-` for anything but letters and digits, at most 63 characters.
fn dns_label(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "daemon".to_owned()
    } else {
        out.to_owned()
    }
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a comment line: control characters (a newline would end the comment) as `?`.
fn comment_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

impl SimpleDaemon {
    /// The Deployment `--print-kubernetes` prints: [`Config::kubernetes_manifest`].
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a setting that cannot work.
    ///
    /// ```
    /// let manifest = simple_daemon::SimpleDaemon::new("heartbeat").kubernetes_manifest()?;
    /// assert!(manifest.contains("\nkind: Deployment\n"));
    /// # Ok::<(), simple_daemon::Error>(())
    /// ```
    pub fn kubernetes_manifest(&self) -> Result<String, Error> {
        Ok(self.config()?.kubernetes_manifest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_rfc_1123_labels() {
        assert_eq!(dns_label("MyDaemon"), "mydaemon");
        assert_eq!(dns_label("my_daemon.v2"), "my-daemon-v2");
        assert_eq!(dns_label("--x--"), "x");
        assert_eq!(dns_label("日本"), "daemon");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn the_grace_period_is_the_stop_timeout_and_the_margin_rounded_up() {
        let grace = |b: SimpleDaemon| b.config().expect("config").grace_period().as_secs();
        let t = Duration::from_millis(2500);
        assert_eq!(grace(SimpleDaemon::new("d").stop_timeout(t)), 8);
        assert_eq!(grace(SimpleDaemon::new("d")), 30);
        assert_eq!(grace(SimpleDaemon::new("d").mode(Mode::Aggressive)), 5);
    }

    #[test]
    fn strings_from_the_configuration_are_quoted() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\u000ad\"");
        assert_eq!(comment_safe("a\nb"), "a?b");
    }

    #[test]
    fn the_log_volume_holds_every_rotated_file() {
        let c = SimpleDaemon::new("d")
            .max_log_size(10 * 1024 * 1024)
            .max_log_files(2)
            .config()
            .expect("config");
        assert_eq!(c.log_volume_mib(), 31);
    }
}
