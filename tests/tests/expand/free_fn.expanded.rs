use simple_daemon::daemon;
fn tick() {}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Stateless")
        .version("0.0.0")
        .interval(::core::time::Duration::from_secs(10))
        .stream(true)
        .main(|| ::core::result::Result::Ok::<
            _,
            ::core::convert::Infallible,
        >(
            ::simple_daemon::__private::FnDaemon(|
                _: &::simple_daemon::__private::Context|
            tick()),
        ))
}
