use simple_daemon::{daemon, Context};
struct Worker {
    passes: u64,
}
impl Worker {
    fn new() -> Self {
        Worker { passes: 0 }
    }
    fn tick(&mut self, ctx: &Context) -> Result<(), String> {
        self.passes += 1;
        ctx.status("working");
        Ok(())
    }
    fn on_stop(&mut self) {}
    fn on_reload(&mut self) {}
}
#[deny(unconditional_recursion)]
impl ::simple_daemon::__private::Daemon for Worker {
    type Error = <Result<(), String> as ::simple_daemon::__private::TickReturn>::Error;
    fn tick(
        &mut self,
        __simple_daemon_ctx: &::simple_daemon::__private::Context,
    ) -> ::core::result::Result<(), Self::Error> {
        <Result<
            (),
            String,
        > as ::simple_daemon::__private::TickReturn>::into_result(
            Worker::tick(self, __simple_daemon_ctx),
        )
    }
    fn on_stop(&mut self) {
        Worker::on_stop(self)
    }
    fn on_reload(&mut self) {
        Worker::on_reload(self)
    }
}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Worker")
        .version("0.0.0")
        .mode(::simple_daemon::__private::Mode::Aggressive)
        .main(|| ::simple_daemon::__private::new_state::<Worker, _>(Worker::new()))
}
