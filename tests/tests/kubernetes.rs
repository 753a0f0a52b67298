//! `--print-kubernetes` on a real binary: the Deployment parses as YAML, agrees with the
//! daemon's configuration (probes on the admin port, the grace period above `stop_timeout`, the
//! log directory mounted writable), and, where `kubectl` is installed, decodes into Kubernetes's
//! own types with no field lost (`kubectl set resources --local`, which needs no cluster).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_yaml::Value;
use simple_daemon_tests::skip_or_fail;

/// The manifest `admin_daemon --print-kubernetes` prints with these variables.
fn manifest(vars: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_admin_daemon"))
        .arg("--print-kubernetes")
        .envs(vars.iter().copied())
        .output()
        .expect("run admin_daemon --print-kubernetes");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn container(doc: &Value) -> &Value {
    &doc["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn the_deployment_parses_and_agrees_with_the_configuration() {
    let text = manifest(&[
        ("SD_ADMIN", "0.0.0.0:9187"),
        ("SD_STOP_TIMEOUT_MS", "12500"),
        ("SD_STREAM", "1"),
    ]);
    let doc: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(doc["apiVersion"], "apps/v1");
    assert_eq!(doc["kind"], "Deployment");
    assert_eq!(doc["metadata"]["name"], "admindaemon");
    let pod = &doc["spec"]["template"]["spec"];
    // stop_timeout 12.5 s + the 5 s margin, rounded up.
    assert_eq!(pod["terminationGracePeriodSeconds"], 18);
    let c = container(&doc);
    assert_eq!(c["ports"][0]["name"], "admin");
    assert_eq!(c["ports"][0]["containerPort"], 9187);
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(c[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], "admin", "{probe}");
    }
    // The log directory the daemon picks ($LOGS_DIRECTORY) is the emptyDir's mount.
    assert_eq!(c["env"][0]["name"], "LOGS_DIRECTORY");
    assert_eq!(c["volumeMounts"][0]["mountPath"], c["env"][0]["value"]);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        doc["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"],
        "9187"
    );
    assert!(!text.contains("WARNING"), "{text}");
}

#[test]
fn what_cannot_agree_is_a_warning_and_the_text_still_parses() {
    // Loopback admin, stream off, no stop_timeout, a log_path with YAML's special characters.
    let dir = "/srv/a: b #c \"d\"";
    let text = manifest(&[("SD_ADMIN", "127.0.0.1:9102"), ("SD_LOG_DIR", dir)]);
    let doc: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains("# WARNING: admin listens on 127.0.0.1:9102"),
        "{text}"
    );
    assert!(text.contains("# WARNING: stream is off"), "{text}");
    assert!(text.contains("no stop_timeout"), "{text}");
    assert_eq!(
        doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
    assert_eq!(container(&doc)["volumeMounts"][0]["mountPath"], dir);
}

/// Every leaf of `ours` is in `theirs` with the same value.
fn contained(ours: &serde_json::Value, theirs: &serde_json::Value, at: &str) -> Result<(), String> {
    use serde_json::Value as J;
    match (ours, theirs) {
        (J::Object(a), J::Object(b)) => a.iter().try_for_each(|(k, v)| {
            let w = b.get(k).ok_or_else(|| format!("{at}.{k} was dropped"))?;
            contained(v, w, &format!("{at}.{k}"))
        }),
        (J::Array(a), J::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .try_for_each(|(i, (v, w))| contained(v, w, &format!("{at}[{i}]"))),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{at}: {a} became {b}")),
    }
}

#[test]
fn kubectl_decodes_every_field_into_its_kubernetes_type() {
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        skip_or_fail("kubectl is not installed (apt-get install kubernetes-client)");
        return;
    }
    let text = manifest(&[("SD_ADMIN", "0.0.0.0:9187"), ("SD_STOP_TIMEOUT_MS", "20000")]);
    // `set resources --local` decodes into the typed Deployment (a wrong type is an error; an
    // unknown field is dropped, which the comparison below catches) and prints it back with a
    // memory limit added (the manifest sets none); no cluster is asked.
    let mut kubectl = Command::new("kubectl")
        .args([
            "set",
            "resources",
            "--local",
            "-f",
            "-",
            "--limits=memory=64Mi",
            "-o",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    kubectl
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the manifest");
    let out = kubectl.wait_with_output().expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl rejected the manifest: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
    let ours: serde_json::Value = serde_yaml::from_str(&text).expect("YAML");
    if let Err(e) = contained(&ours, &theirs, "") {
        panic!("{e}\n{text}");
    }
}
