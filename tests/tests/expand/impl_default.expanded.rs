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
    ::simple_daemon::__private::SimpleDaemon::new("Worker")
        .version("0.0.0")
        .main(|| ::simple_daemon::__private::default_state::<Worker>())
}
