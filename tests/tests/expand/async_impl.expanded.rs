use simple_daemon::{daemon, Context};
struct Poller {
    polls: u64,
}
impl Poller {
    async fn new() -> Result<Self, std::io::Error> {
        Ok(Poller { polls: 0 })
    }
    async fn tick(&mut self, ctx: &Context) -> Result<(), std::io::Error> {
        self.polls += 1;
        ctx.stopped().await;
        Ok(())
    }
    async fn on_stop(&mut self) {}
}
#[deny(unconditional_recursion)]
impl ::simple_daemon::__private::AsyncDaemon for Poller {
    type Error = <Result<
        (),
        std::io::Error,
    > as ::simple_daemon::__private::TickReturn>::Error;
    #[allow(refining_impl_trait)]
    fn tick<'__simple_daemon_a, '__simple_daemon_b>(
        &'__simple_daemon_a mut self,
        __simple_daemon_ctx: &'__simple_daemon_b ::simple_daemon::__private::Context,
    ) -> ::simple_daemon::__private::IntoResult<
        impl ::core::future::Future<
            Output = Result<(), std::io::Error>,
        > + use<'__simple_daemon_a, '__simple_daemon_b>,
    > {
        ::simple_daemon::__private::IntoResult::new(async move {
            Poller::tick(self, __simple_daemon_ctx).await
        })
    }
    async fn on_stop(&mut self) {
        Poller::on_stop(self).await
    }
}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Poller")
        .version("0.0.0")
        .mode(::simple_daemon::__private::Mode::Aggressive)
        .interval(::core::time::Duration::from_secs(30))
        .flavor(::simple_daemon::__private::Flavor::CurrentThread)
        .main_tokio(|| async {
            ::simple_daemon::__private::new_state::<Poller, _>(Poller::new().await)
        })
}
