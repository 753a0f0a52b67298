//! The daemon's metrics: typed `prometheus-client` metrics fed by the tick hooks, a collector
//! that reads the rest at scrape time, and the page in either text format.
//!
//! The daemon's own metrics live in a registry of their own, labelled `daemon="<name>"`; the
//! user's ([`registry`](super::registry)) are encoded after them with the same label added to
//! each sample (unless the sample has a `daemon` label of its own), so every series on the page
//! names its daemon, whenever the user registered it.
//!
//! Per tick (the [`Observer`]): three relaxed atomic adds (the result, the duration's bucket,
//! the sum) and, on a success, one store; no lock, no float, nothing formatted until a scrape.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::context::{Shared, STOP};
use crate::health::{Health, Observer};

/// The buckets of `simple_daemon_tick_duration_seconds`, from 1 ms to 5 min.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
];
/// [`BUCKETS`] in nanoseconds, what a tick compares its duration with.
const BUCKETS_NS: [u64; 14] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    10_000_000_000,
    60_000_000_000,
    300_000_000_000,
];

/// What the tick hooks record: plain atomics, which only the tick loop writes (one tick at a
/// time, and `reloaded` between ticks), so each write is a relaxed load and store, with no
/// lock prefix, no lock and no float on the tick's path: per tick the duration's bucket and the
/// sum, plus the end of a success or the count of a failure. The collector turns them into the
/// `prometheus-client` metrics at scrape time (the successes are the ticks counted in the
/// buckets less the failures).
#[derive(Debug)]
struct Ticks {
    error: AtomicU64,
    /// Ticks per bucket of [`BUCKETS_NS`], not cumulative; the last one past every bound.
    buckets: [AtomicU64; BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
    /// When the last successful tick ended, in [`Health::stamp`] nanoseconds plus one; 0: none.
    last_success: AtomicU64,
    reloads: AtomicU64,
    health: Arc<Health>,
}

/// Add `n` to a counter only the tick loop writes.
#[inline]
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl Observer for Arc<Ticks> {
    #[inline]
    fn tick(&self, ok: bool, took: Duration, end: Instant) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        if ok {
            self.last_success
                .store(self.health.stamp(end).saturating_add(1), Ordering::Relaxed);
        } else {
            bump(&self.error, 1);
        }
        bump(&self.buckets[BUCKETS_NS.partition_point(|&upper| upper < ns)], 1);
        bump(&self.sum_ns, ns);
    }

    fn reloaded(&self) {
        bump(&self.reloads, 1);
    }
}

/// The scrape's side of [`Ticks`].
#[derive(Debug)]
struct TickMetrics(Arc<Ticks>);

impl Collector for TickMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let ticks = &self.0;
        // The failures first: a tick ending meanwhile is then counted as a success at worst.
        let error = load(&ticks.error);
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(ticks.buckets.iter().map(load))
            .collect();
        let count: u64 = buckets.iter().map(|(_, n)| n).sum();
        let mut results =
            encoder.encode_descriptor("ticks", "Ticks that ended, by result", None, MetricType::Counter)?;
        for (result, n) in [("ok", count.saturating_sub(error)), ("error", error)] {
            ConstCounter::new(n).encode(results.encode_family(&[("result", result)])?)?;
        }
        let sum = Duration::from_nanos(load(&ticks.sum_ns)).as_secs_f64();
        encoder
            .encode_descriptor(
                "tick_duration_seconds",
                "How long each tick ran",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        let last = match load(&ticks.last_success) {
            0 => 0.0,
            stamp => ticks.health.unix_seconds_of(stamp - 1),
        };
        ConstGauge::new(last).encode(encoder.encode_descriptor(
            "last_success_timestamp_seconds",
            "When the last successful tick ended, in seconds since the Unix epoch (0: none yet)",
            None,
            MetricType::Gauge,
        )?)?;
        ConstCounter::new(load(&ticks.reloads)).encode(encoder.encode_descriptor(
            "reloads",
            "Reloads (SIGHUP) done",
            None,
            MetricType::Counter,
        )?)?;
        Ok(())
    }
}

/// The daemon's own metrics, and its name for the label of the user's.
struct Ours {
    registry: Registry,
    name: String,
}

static OURS: LazyLock<Mutex<Ours>> = LazyLock::new(|| {
    Mutex::new(Ours {
        registry: Registry::default(),
        name: String::new(),
    })
});

/// Register the daemon's metrics under `daemon="<name>"` and hook them to the ticks; a daemon
/// started again in the same process replaces the previous one's.
pub(super) fn install(name: &str, shared: &Arc<Shared>) {
    let mut ours = OURS.lock().unwrap_or_else(PoisonError::into_inner);
    ours.name = name.to_owned();
    ours.registry = Registry::default();
    let labelled = ours
        .registry
        .sub_registry_with_label(("daemon".into(), name.to_owned().into()));
    labelled.register_collector(Box::new(Process));
    let ours = labelled.sub_registry_with_prefix("simple_daemon");
    let ticks = Arc::new(Ticks {
        error: AtomicU64::new(0),
        buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        sum_ns: AtomicU64::new(0),
        last_success: AtomicU64::new(0),
        reloads: AtomicU64::new(0),
        health: Arc::clone(&shared.health),
    });
    ours.register_collector(Box::new(TickMetrics(Arc::clone(&ticks))));
    ours.register_collector(Box::new(State {
        shared: Arc::clone(shared),
    }));
    shared.health.observe(Box::new(ticks));
}

/// The page: `(content type, body)`, OpenMetrics 1.0 or the text format 0.0.4.
pub(super) fn page(open_metrics: bool) -> Result<(&'static str, String), std::fmt::Error> {
    use prometheus_client::encoding::text::{encode_eof, encode_registry};
    let mut om = String::with_capacity(4096);
    let mut user = String::new();
    {
        let ours = OURS.lock().unwrap_or_else(PoisonError::into_inner);
        encode_registry(&mut om, &ours.registry)?;
        encode_registry(&mut user, &super::registry())?;
        add_daemon_label(&mut om, &user, &ours.name);
    }
    encode_eof(&mut om)?;
    if open_metrics {
        return Ok(("application/openmetrics-text; version=1.0.0; charset=utf-8", om));
    }
    Ok(("text/plain; version=0.0.4; charset=utf-8", to_text_004(&om)))
}

/// Append `page` (OpenMetrics lines) to `out` with `daemon="<name>"` first in each sample's
/// labels, unless the sample has a `daemon` label already.
fn add_daemon_label(out: &mut String, page: &str, name: &str) {
    let mut value = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => value.push_str("\\\\"),
            '"' => value.push_str("\\\""),
            '\n' => value.push_str("\\n"),
            c => value.push(c),
        }
    }
    for line in page.lines() {
        let split = line.find(['{', ' ']).unwrap_or(line.len());
        let (metric, rest) = line.split_at(split);
        if line.starts_with('#') || metric.is_empty() {
            out.push_str(line);
        } else if let Some(labels) = rest.strip_prefix('{') {
            if label_names(labels).any(|n| n == "daemon") {
                out.push_str(line);
            } else {
                let sep = if labels.starts_with('}') { "" } else { "," };
                let _ = write!(out, "{metric}{{daemon=\"{value}\"{sep}{labels}");
            }
        } else {
            let _ = write!(out, "{metric}{{daemon=\"{value}\"}}{rest}");
        }
        out.push('\n');
    }
}

/// The label names of a sample's label set, `labels` starting after its `{`.
fn label_names(labels: &str) -> impl Iterator<Item = &str> {
    let mut rest = labels;
    std::iter::from_fn(move || {
        let (name, after) = rest.split_once("=\"")?;
        if name.contains('}') {
            return None;
        }
        // Skip the quoted value, minding escapes.
        let mut escaped = false;
        let end = after.char_indices().find_map(|(i, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes.then_some(i)
        })?;
        rest = after[end + 1..].trim_start_matches(',');
        Some(name)
    })
}

/// Turn the OpenMetrics page prometheus-client writes into the text format 0.0.4: a counter's
/// family is named with its `_total`; `unknown` is `untyped`; `info` and `stateset` are gauges
/// (an info family named with its `_info`); a `gaugehistogram`'s samples go untyped; `# UNIT`,
/// `# EOF`, exemplars and `_created` samples are left out.
fn to_text_004(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut help: Option<&str> = None;
    let mut counter: Option<String> = None;
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (name, kind) = match kind {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "counter" => (name.to_owned(), "counter"),
                "unknown" => (name.to_owned(), "untyped"),
                "info" => (format!("{name}_info"), "gauge"),
                "stateset" => (name.to_owned(), "gauge"),
                "gaugehistogram" => {
                    help = None;
                    continue;
                }
                other => (name.to_owned(), other),
            };
            if let Some(h) = help.take() {
                let text = h.split_once(' ').map_or("", |(_, t)| t);
                let _ = writeln!(out, "# HELP {name} {text}");
            }
            let _ = writeln!(out, "# TYPE {name} {kind}");
            counter = (kind == "counter").then(|| name.trim_end_matches("_total").to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = line.split(" # ").next().unwrap_or(line);
        if let Some(base) = &counter {
            if sample.starts_with(base.as_str()) && sample[base.len()..].starts_with("_created") {
                continue;
            }
        }
        out.push_str(sample);
        out.push('\n');
    }
    out
}

/// What is read at scrape time: the tick in progress, the stop, the log records.
#[derive(Debug)]
struct State {
    shared: Arc<Shared>,
}

impl Collector for State {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let in_progress = i64::from(self.shared.health.in_progress());
        let g = ConstGauge::new(in_progress);
        g.encode(encoder.encode_descriptor(
            "tick_in_progress",
            "1 while a tick runs",
            None,
            MetricType::Gauge,
        )?)?;
        let stopping = i64::from(self.shared.events() & STOP != 0);
        ConstGauge::new(stopping).encode(encoder.encode_descriptor(
            "stopping",
            "1 once a stop was requested",
            None,
            MetricType::Gauge,
        )?)?;
        let mut records = encoder.encode_descriptor(
            "log_records",
            "Log records written, by level",
            None,
            MetricType::Counter,
        )?;
        for (level, n) in ["error", "warn", "info", "debug", "trace"]
            .into_iter()
            .zip(crate::logging::record_counts())
        {
            ConstCounter::new(n).encode(records.encode_family(&[("level", level)])?)?;
        }
        Ok(())
    }
}

/// The standard `process_*` metrics, read from `/proc/self` at scrape time.
#[derive(Debug)]
struct Process;

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(stat) = ProcStat::read() else {
            return Ok(());
        };
        ConstCounter::new(stat.cpu_seconds).encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            MetricType::Counter,
        )?)?;
        for (name, help, v) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                stat.rss_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stat.vsize_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                stat.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                stat.max_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                stat.start_time,
            ),
        ] {
            ConstGauge::new(v).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
        }
        Ok(())
    }
}

/// What `/proc/self/stat` and friends say.
struct ProcStat {
    cpu_seconds: f64,
    rss_bytes: f64,
    vsize_bytes: f64,
    open_fds: f64,
    max_fds: f64,
    start_time: f64,
}

impl ProcStat {
    fn read() -> Option<ProcStat> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let after = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<&str> = after.split_whitespace().collect();
        // `after` starts at field 3 (state): field N is f[N - 3].
        let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
        let ticks = if ticks > 0.0 { ticks } else { 100.0 };
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        let max_fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            limit.rlim_cur as f64
        } else {
            0.0
        };
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()) as f64;
        Some(ProcStat {
            cpu_seconds: (num(14)? + num(15)?) / ticks,
            vsize_bytes: num(23)?,
            rss_bytes: num(24)? * page,
            open_fds,
            max_fds,
            start_time: boot.unwrap_or(0.0) + num(22)? / ticks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tick_lands_in_its_bucket_and_its_result() {
        let health = Arc::new(Health::new(None));
        let ticks = Arc::new(Ticks {
            error: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            health,
        });
        let now = Instant::now();
        ticks.tick(true, Duration::from_millis(1), now);
        ticks.tick(false, Duration::from_micros(1001), now);
        ticks.tick(true, Duration::from_secs(400), now);
        let mut r = Registry::default();
        r.register_collector(Box::new(TickMetrics(Arc::clone(&ticks))));
        let mut page = String::new();
        prometheus_client::encoding::text::encode(&mut page, &r).expect("encode");
        for line in [
            "ticks_total{result=\"ok\"} 2",
            "ticks_total{result=\"error\"} 1",
            "tick_duration_seconds_count 3",
            "tick_duration_seconds_bucket{le=\"0.001\"} 1",
            "tick_duration_seconds_bucket{le=\"0.0025\"} 2",
            "tick_duration_seconds_bucket{le=\"300.0\"} 2",
            "tick_duration_seconds_bucket{le=\"+Inf\"} 3",
        ] {
            assert!(page.lines().any(|l| l == line), "no {line} in\n{page}");
        }
        assert!(page.contains("tick_duration_seconds_sum 400.002001"), "{page}");
    }

    #[test]
    fn the_users_samples_get_the_daemon_label_first_unless_they_have_one() {
        let page = "# TYPE jobs counter\njobs_total 3 # {t=\"1\"} 1.0\nby_total{kind=\"a,daemon=\\\"x\"} 1\nown_total{daemon=\"other\",k=\"v\"} 2\n";
        let mut out = String::new();
        add_daemon_label(&mut out, page, "My \"D\"");
        assert_eq!(
            out,
            "# TYPE jobs counter\njobs_total{daemon=\"My \\\"D\\\"\"} 3 # {t=\"1\"} 1.0\nby_total{daemon=\"My \\\"D\\\"\",kind=\"a,daemon=\\\"x\"} 1\nown_total{daemon=\"other\",k=\"v\"} 2\n"
        );
    }

    #[test]
    fn counters_and_units_become_text_004() {
        let om = "# HELP a_x Things.\n# TYPE a_x counter\na_x_total{d=\"n\"} 3 # {t=\"1\"} 1.0\na_x_created 1.0\n# HELP b B.\n# TYPE b gauge\n# UNIT b seconds\nb 1\n# EOF\n";
        assert_eq!(
            to_text_004(om),
            "# HELP a_x_total Things.\n# TYPE a_x_total counter\na_x_total{d=\"n\"} 3\n# HELP b B.\n# TYPE b gauge\nb 1\n"
        );
    }
}
