mod facade {
    pub use simple_daemon;
}
use simple_daemon::daemon;
fn tick() {}
fn main() -> crate::facade::simple_daemon::__private::Exit {
    crate::facade::simple_daemon::__private::SimpleDaemon::new("Facade")
        .version("0.0.0")
        .main(|| ::core::result::Result::Ok::<
            _,
            ::core::convert::Infallible,
        >(
            crate::facade::simple_daemon::__private::FnDaemon(|
                _: &crate::facade::simple_daemon::__private::Context|
            tick()),
        ))
}
