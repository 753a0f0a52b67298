//! The admin listener on a real process: probes and metrics over real TCP on loopback, the page
//! checked by `promtool`, a real Prometheus scraping it, hostile clients, readiness during a
//! passive stop, `tick_timeout`, and a busy port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simple_daemon_tests::{
    kill, read, skip_or_fail, wait_exit, wait_for_line, wait_until, Reap, TempDir, PATIENCE,
};

/// A running `admin_daemon` and the address it listens on.
struct Admin {
    child: Reap,
    addr: SocketAddr,
    dir: TempDir,
}

impl Admin {
    fn start(tag: &str, envs: &[(&str, &str)]) -> Admin {
        let dir = TempDir::new(tag);
        let child = Command::new(env!("CARGO_BIN_EXE_admin_daemon"))
            .env("SD_LOG_DIR", dir.path())
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn admin_daemon");
        let child = Reap(child);
        let log = dir.path().join("AdminDaemon.log");
        assert!(
            wait_for_line(&log, "Admin listening on http://", PATIENCE),
            "no listener: {}",
            read(&log)
        );
        let line = read(&log);
        let addr = line
            .lines()
            .find_map(|l| l.split("http://").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .expect("the address in the log");
        Admin { child, addr, dir }
    }

    fn log(&self) -> String {
        read(&self.dir.path().join("AdminDaemon.log"))
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// One raw HTTP/1.1 exchange: `(status, head, body)`.
fn request(addr: SocketAddr, raw: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(raw).expect("write request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (st, _, body) = request(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    (st, body)
}

/// The value of the first sample whose line starts with `series`.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

const OK_TICKS: &str = "simple_daemon_ticks_total{daemon=\"AdminDaemon\",result=\"ok\"}";

#[test]
fn probes_and_metrics_over_http() {
    let d = Admin::start("admin-probes", &[("SD_INTERVAL_MS", "20")]);
    assert_eq!(get(d.addr, "/healthz"), (200, "ok\n".into()));
    assert!(wait_until(PATIENCE, || get(d.addr, "/readyz").0 == 200));
    let (st, head, page) = request(d.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(st, 200);
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    let first = sample(&page, OK_TICKS).expect("ticks_total ok");
    for name in [
        "simple_daemon_ticks_total{daemon=\"AdminDaemon\",result=\"error\"} 0",
        "# TYPE simple_daemon_tick_duration_seconds histogram",
        "simple_daemon_tick_duration_seconds_bucket{daemon=\"AdminDaemon\",le=\"+Inf\"}",
        "simple_daemon_last_success_timestamp_seconds{daemon=\"AdminDaemon\"}",
        "simple_daemon_tick_in_progress{daemon=\"AdminDaemon\"}",
        "simple_daemon_stopping{daemon=\"AdminDaemon\"} 0",
        "simple_daemon_reloads_total{daemon=\"AdminDaemon\"} 0",
        "simple_daemon_log_records_total{daemon=\"AdminDaemon\",level=\"info\"}",
        "process_resident_memory_bytes{daemon=\"AdminDaemon\"}",
        "process_cpu_seconds_total{daemon=\"AdminDaemon\"}",
        "process_open_fds{daemon=\"AdminDaemon\"}",
        "process_start_time_seconds{daemon=\"AdminDaemon\"}",
        // The user's own metrics carry the daemon's label too.
        "admin_daemon_ticks_seen_total{daemon=\"AdminDaemon\"} ",
        "admin_daemon_ticks_by_kind_total{daemon=\"AdminDaemon\",kind=\"plain\"} ",
    ] {
        assert!(page.contains(name), "no {name} in\n{page}");
    }
    let last = sample(&page, "simple_daemon_last_success_timestamp_seconds").expect("last success");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!((now - last).abs() < 60.0, "last success {last}, now {now}");
    // The counters move.
    assert!(wait_until(PATIENCE, || {
        sample(&get(d.addr, "/metrics").1, OK_TICKS).is_some_and(|n| n >= first + 5.0)
    }));
    // A reload is counted.
    kill(d.pid(), libc::SIGHUP);
    assert!(wait_until(PATIENCE, || {
        sample(&get(d.addr, "/metrics").1, "simple_daemon_reloads_total") == Some(1.0)
    }));
    // OpenMetrics when asked for.
    let (st, head, om) = request(
        d.addr,
        b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n",
    );
    assert_eq!(st, 200);
    assert!(
        head.contains("application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    // Errors.
    assert_eq!(get(d.addr, "/nope").0, 404);
    assert_eq!(get(d.addr, "/healthz?verbose=1").0, 200);
    assert_eq!(request(d.addr, b"garbage\r\n\r\n").0, 400);
    assert_eq!(
        request(d.addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").0,
        405
    );
    let (st, head, body) = request(d.addr, b"HEAD /healthz HTTP/1.1\r\n\r\n");
    assert_eq!((st, body.as_str()), (200, ""), "{head}");

    // The page as promtool sees it.
    let Ok(mut check) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        skip_or_fail("promtool is not installed (apt-get install prometheus)");
        return;
    };
    let page = get(d.addr, "/metrics").1;
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("feed promtool");
    let out = check.wait_with_output().expect("promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}\n{page}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `/readyz` is 503 from the moment a stop signal is handled, not once the signal thread has
/// read it: a probe sent right after `kill(2)` returns sees 503. The connection is made before
/// the signal, so only the request's answer races it; ten daemons, one signal each.
///
/// One window is left, of microseconds, that no daemon can close: the kernel hands the signal
/// to one thread, and a probe can be answered on another between that thread taking the signal
/// and its handler's first store, if the scheduler preempts it right there. So one 200 in ten
/// is tolerated; before the handler set the flag (the signal thread did, after its wake-up),
/// about a third of such probes got 200.
#[test]
fn readiness_is_503_for_a_probe_sent_right_after_the_signal() {
    let mut ready_after_signal = 0;
    for i in 0..10 {
        let dir = TempDir::new("admin-race-hold");
        let hold = dir.path().join("hold");
        std::fs::write(&hold, "").expect("hold file");
        // The tick holds on, so the passive stop waits and the daemon answers after the signal.
        let d = Admin::start(
            &format!("admin-ready-race-{i}"),
            &[
                ("SD_MODE", "passive"),
                ("SD_HOLD_FILE", hold.to_str().expect("utf-8")),
            ],
        );
        assert!(wait_until(PATIENCE, || get(d.addr, "/readyz").0 == 200));
        let mut s = TcpStream::connect_timeout(&d.addr, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        kill(d.pid(), libc::SIGTERM);
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        if !text.starts_with("HTTP/1.1 503") {
            eprintln!("daemon {i}: /readyz right after SIGTERM answered {text:?}");
            ready_after_signal += 1;
        }
    }
    assert!(
        ready_after_signal <= 1,
        "{ready_after_signal} of 10 probes sent right after SIGTERM were not 503"
    );
}

#[test]
fn readiness_goes_at_the_first_signal_of_a_passive_stop_liveness_stays() {
    let dir = TempDir::new("admin-hold");
    let hold = dir.path().join("hold");
    std::fs::write(&hold, "").expect("hold file");
    let d = Admin::start(
        "admin-ready",
        &[
            ("SD_INTERVAL_MS", "20"),
            ("SD_HOLD_FILE", hold.to_str().expect("utf-8")),
        ],
    );
    assert!(wait_until(PATIENCE, || get(d.addr, "/readyz").0 == 200));
    assert!(wait_until(PATIENCE, || {
        sample(&get(d.addr, "/metrics").1, "simple_daemon_tick_in_progress") == Some(1.0)
    }));
    kill(d.pid(), libc::SIGTERM);
    let asked = Instant::now();
    assert!(wait_until(PATIENCE, || get(d.addr, "/readyz").0 == 503));
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "readyz took {:?}",
        asked.elapsed()
    );
    // The tick in progress runs on: live, not ready, stopping.
    for _ in 0..5 {
        assert_eq!(get(d.addr, "/healthz"), (200, "ok\n".into()));
        assert_eq!(get(d.addr, "/readyz"), (503, "stopping\n".into()));
    }
    assert_eq!(
        sample(&get(d.addr, "/metrics").1, "simple_daemon_stopping"),
        Some(1.0)
    );
    std::fs::remove_file(&hold).expect("release the tick");
    let mut child = d.child;
    let st = wait_exit(&mut child.0, PATIENCE);
    assert_eq!(st.code(), Some(0));
    assert!(read(&d.dir.path().join("AdminDaemon.log")).contains("Graceful Interrupt..."));
}

#[test]
fn a_tick_past_tick_timeout_is_unhealthy_until_it_ends() {
    let dir = TempDir::new("admin-slow");
    let hold = dir.path().join("hold");
    let d = Admin::start(
        "admin-timeout",
        &[
            ("SD_INTERVAL_MS", "20"),
            ("SD_TICK_TIMEOUT_MS", "300"),
            ("SD_HOLD_FILE", hold.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(get(d.addr, "/healthz").0, 200);
    std::fs::write(&hold, "").expect("hold file");
    assert!(
        wait_until(PATIENCE, || get(d.addr, "/healthz").0 == 503),
        "{}",
        d.log()
    );
    assert!(wait_until(PATIENCE, || d
        .log()
        .contains("past tick_timeout of 300ms: reporting unhealthy")));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(d.addr, "/healthz").0, 503);
    std::fs::remove_file(&hold).expect("release the tick");
    assert!(wait_until(PATIENCE, || get(d.addr, "/healthz").0 == 200));
    let log = d.log();
    assert_eq!(
        log.matches("reporting unhealthy").count(),
        1,
        "one WARN per slow tick:\n{log}"
    );
    assert!(log.contains(" - WARN - Tick running for "), "{log}");
    assert!(log.contains("healthy again"), "{log}");
}

#[test]
fn slow_garbage_and_idle_clients_do_not_hold_ticks_or_probes() {
    let d = Admin::start("admin-hostile", &[("SD_INTERVAL_MS", "10")]);
    let ticks = || sample(&get(d.addr, "/metrics").1, OK_TICKS).unwrap_or(0.0);
    let before = ticks();
    // 100 connections that never send a byte.
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(d.addr).expect("idle connect"))
        .collect();
    // A slow client: one byte every 100 ms.
    let addr = d.addr;
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("slow connect");
        for b in b"GET /healthz HTTP/1.1\r\n" {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // 1 MB of headers: cut off at the bound, 400.
    let mut big = b"GET /metrics HTTP/1.1\r\n".to_vec();
    while big.len() < 1 << 20 {
        big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let mut s = TcpStream::connect(d.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = s.write_all(&big);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // Garbage bytes.
    assert_eq!(
        request(d.addr, &[0xff, 0x00, 0x13, b'\r', b'\n', b'\r', b'\n']).0,
        400
    );
    // Probes still answer, ticks go on.
    let t = Instant::now();
    assert_eq!(get(d.addr, "/healthz").0, 200);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "a probe took {:?}",
        t.elapsed()
    );
    assert!(wait_until(PATIENCE, || ticks() >= before + 50.0));
    // The idle ones are cut at the read bound (5 s), and then the listener answers as before.
    let mut first = idle.into_iter().next().expect("one");
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut buf = Vec::new();
    let _ = first.read_to_end(&mut buf);
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    slow.join().expect("slow client");
    assert_eq!(get(d.addr, "/readyz").0, 200);
}

#[test]
fn a_busy_admin_port_is_exit_78_naming_admin_and_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = TempDir::new("admin-busy");
    let out = Command::new(env!("CARGO_BIN_EXE_admin_daemon"))
        .env("SD_LOG_DIR", dir.path())
        .env("SD_ADMIN", &addr)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("admin cannot listen on {addr}: ")), "{err}");
    // Nothing to undo after the failed start: no log file either.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read the log dir").collect();
    assert!(left.is_empty(), "the failed start left {left:?}");
}

#[test]
fn a_real_prometheus_scrapes_the_daemon() {
    if Command::new("prometheus").arg("--version").output().is_err() {
        skip_or_fail("prometheus is not installed (apt-get install prometheus)");
        return;
    }
    let d = Admin::start("admin-prom", &[("SD_INTERVAL_MS", "20")]);
    let (_prom, web_addr, dir) = prometheus(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{}']\n",
        d.addr
    ));
    let query = "/api/v1/query?query=simple_daemon_ticks_total%7Bresult%3D%22ok%22%7D";
    let mut last = String::new();
    let found = wait_until(Duration::from_secs(60), || {
        if TcpStream::connect(web_addr).is_err() {
            return false;
        }
        last = get(web_addr, query).1;
        last.contains("\"daemon\":\"AdminDaemon\"") && last.contains("\"result\":\"ok\"")
    });
    assert!(
        found,
        "no series from Prometheus: {last}\n{}",
        read(&dir.path().join("prom.log"))
    );
    let v: serde_json::Value = serde_json::from_str(&last).expect("JSON");
    assert_eq!(v["status"], "success");
    let targets = get(web_addr, "/api/v1/targets").1;
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
}

/// A real Prometheus on loopback with this configuration: (the process, its web address, its
/// directory, where `prom.log` is its stderr).
fn prometheus(conf_text: &str) -> (Reap, SocketAddr, TempDir) {
    let dir = TempDir::new("prometheus");
    let web = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let web_addr = web.local_addr().expect("addr");
    drop(web);
    let conf = dir.path().join("p.yml");
    std::fs::write(&conf, conf_text).expect("config");
    let prom = Command::new("prometheus")
        .arg(format!("--config.file={}", conf.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={web_addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prom.log")).expect("log"))
        .spawn()
        .expect("spawn prometheus");
    (Reap(prom), web_addr, dir)
}

/// The README's Prometheus scrape configuration: the `yaml` block holding `scrape_configs:`.
fn readme_scrape_config() -> String {
    let readme = read(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../README.md"
    )));
    readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(yaml, _)| yaml.to_owned()))
        .find(|yaml| yaml.contains("scrape_configs:"))
        .expect("a yaml block with scrape_configs: in README.md")
}

#[test]
fn the_readme_scrape_config_works_as_written() {
    if Command::new("prometheus").arg("--version").output().is_err() {
        skip_or_fail("prometheus is not installed (apt-get install prometheus)");
        return;
    }
    let conf = readme_scrape_config();
    // As written: promtool accepts the very text.
    let dir = TempDir::new("readme-conf");
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, &conf).expect("write");
    let check = Command::new("promtool")
        .arg("check")
        .arg("config")
        .arg(&file)
        .output()
        .expect("promtool");
    assert!(check.status.success(), "promtool: {check:?}\n{conf}");
    // And scraping: only the address becomes the test daemon's (9102 may be taken here).
    assert!(conf.contains("'127.0.0.1:9102'"), "{conf}");
    let d = Admin::start("admin-readme", &[("SD_INTERVAL_MS", "20")]);
    let (_prom, web_addr, pdir) = prometheus(&conf.replace("127.0.0.1:9102", &d.addr.to_string()));
    let query = "/api/v1/query?query=admin_daemon_ticks_seen_total";
    let mut last = String::new();
    // The first scrape comes within one scrape_interval (15 s) of the start.
    let found = wait_until(Duration::from_secs(60), || {
        if TcpStream::connect(web_addr).is_err() {
            return false;
        }
        last = get(web_addr, query).1;
        last.contains("\"job\":\"fleet\"")
    });
    assert!(
        found,
        "no series from Prometheus: {last}\n{}",
        read(&pdir.path().join("prom.log"))
    );
    // The user's own metric carries the daemon's label too.
    assert!(last.contains("\"daemon\":\"AdminDaemon\""), "{last}");
}
