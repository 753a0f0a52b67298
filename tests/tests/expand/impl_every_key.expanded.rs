use simple_daemon::daemon;
struct Worker;
#[automatically_derived]
impl ::core::default::Default for Worker {
    #[inline]
    fn default() -> Worker {
        Worker {}
    }
}
impl Worker {
    fn tick(&mut self) {}
}
#[deny(unconditional_recursion)]
impl ::simple_daemon::__private::Daemon for Worker {
    type Error = ::core::convert::Infallible;
    fn tick(
        &mut self,
        _: &::simple_daemon::__private::Context,
    ) -> ::core::result::Result<(), Self::Error> {
        Worker::tick(self);
        ::core::result::Result::Ok(())
    }
}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("MyDaemon")
        .version("0.0.0")
        .mode(::simple_daemon::__private::Mode::Passive)
        .interval(::core::time::Duration::from_millis(1500))
        .level(::simple_daemon::__private::LevelFilter::Info)
        .log_path("/var/log/my-daemon")
        .log_name("my.log")
        .log_format("{time} [{pid}] {level}: {message}")
        .stream(true)
        .syslog(true)
        .journal(true)
        .buffered(false)
        .max_log_size(65536)
        .max_log_files(5)
        .stop_timeout(::core::time::Duration::from_secs(30))
        .watchdog(::core::time::Duration::from_secs(60))
        .main(|| ::simple_daemon::__private::default_state::<Worker>())
}
