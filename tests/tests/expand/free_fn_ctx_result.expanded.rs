use simple_daemon::{daemon, Context};
fn tick(ctx: &Context) -> Result<(), std::fmt::Error> {
    ctx.status("ticking");
    Ok(())
}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Stateless")
        .version("0.0.0")
        .level(::simple_daemon::__private::LevelFilter::Warn)
        .main(|| ::core::result::Result::Ok::<
            _,
            ::core::convert::Infallible,
        >(
            ::simple_daemon::__private::FnDaemon(|
                __simple_daemon_ctx: &::simple_daemon::__private::Context|
            <Result<
                (),
                std::fmt::Error,
            > as ::simple_daemon::__private::TickReturn>::into_result(
                tick(__simple_daemon_ctx),
            )),
        ))
}
