use simple_daemon::daemon;
async fn tick() {}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Beat")
        .version("0.0.0")
        .worker_threads(2)
        .main_tokio(|| async {
            ::core::result::Result::Ok::<
                _,
                ::core::convert::Infallible,
            >(
                ::simple_daemon::__private::FnAsyncDaemon(async |
                    _: &::simple_daemon::__private::Context|
                tick().await),
            )
        })
}
