//! A test daemon for `tests/schedule.rs`: the schedule keys through the builder, configured by
//! environment variables, with a scripted tick.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SD_LOG_DIR`, `SD_MODE`, `SD_STREAM` | as [`simple_daemon_tests::builder_from_env`] | |
//! | `SC_INTERVAL_MS`, `SC_JITTER_MS`, `SC_MAX_BACKOFF_MS` | `interval`, `jitter`, `max_backoff` (ms) | unset |
//! | `SC_SCHEDULE`, `SC_TIMEZONE` | `schedule`, `timezone` | unset |
//! | `SC_MISSED` | `delay`, `skip`, `burst` | unset |
//! | `SC_ON_ERROR` | `continue`: `on_error(OnError::Continue)` | unset |
//! | `SC_MAX_FAILURES` | `max_failures` | unset |
//! | `SC_TICKS` | what tick `n` does, comma-separated (the last one repeats): `ok`, `fail` (returns `Err`), `sleep:<ms>` (then `Ok`) | `ok` |
//!
//! Each tick logs `tick <n> start` first.

use std::time::Duration;

use simple_daemon::log::info;
use simple_daemon::{Context, Daemon, Exit, Missed, OnError};
use simple_daemon_tests::{builder_from_env, env_ms, env_num, env_var};

struct Scripted {
    n: usize,
    script: Vec<String>,
}

impl Daemon for Scripted {
    type Error = String;

    fn tick(&mut self, _ctx: &Context) -> Result<(), String> {
        self.n += 1;
        let n = self.n;
        info!("tick {n} start");
        let step = self
            .script
            .get(n - 1)
            .or(self.script.last())
            .map_or("ok", String::as_str);
        match step {
            "fail" => Err(format!("upstream unavailable at tick {n}")),
            s => {
                if let Some(ms) = s.strip_prefix("sleep:").and_then(|m| m.parse().ok()) {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                Ok(())
            }
        }
    }
}

fn main() -> Exit {
    let mut b = builder_from_env("SchedDaemon");
    if let Some(i) = env_ms("SC_INTERVAL_MS") {
        b = b.interval(i);
    }
    if let Some(j) = env_ms("SC_JITTER_MS") {
        b = b.jitter(j);
    }
    if let Some(m) = env_ms("SC_MAX_BACKOFF_MS") {
        b = b.max_backoff(m);
    }
    if let Some(s) = env_var("SC_SCHEDULE") {
        b = b.schedule(s);
    }
    if let Some(tz) = env_var("SC_TIMEZONE") {
        b = b.timezone(tz);
    }
    match env_var("SC_MISSED").as_deref() {
        Some("skip") => b = b.missed(Missed::Skip),
        Some("burst") => b = b.missed(Missed::Burst),
        Some(_) => b = b.missed(Missed::Delay),
        None => {}
    }
    if env_var("SC_ON_ERROR").as_deref() == Some("continue") {
        b = b.on_error(OnError::Continue);
    }
    if let Some(n) = env_num("SC_MAX_FAILURES") {
        b = b.max_failures(n);
    }
    let script = env_var("SC_TICKS")
        .unwrap_or_else(|| "ok".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    b.run(Scripted { n: 0, script })
}
