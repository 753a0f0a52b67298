use simple_daemon::daemon;
struct Worker {
    dir: std::path::PathBuf,
}
impl Worker {
    fn new() -> std::io::Result<Self> {
        Ok(Worker {
            dir: std::env::current_dir()?,
        })
    }
    fn tick(&mut self) -> std::io::Result<()> {
        std::fs::metadata(&self.dir).map(drop)
    }
}
#[deny(unconditional_recursion)]
impl ::simple_daemon::__private::Daemon for Worker {
    type Error = <std::io::Result<()> as ::simple_daemon::__private::TickReturn>::Error;
    fn tick(
        &mut self,
        _: &::simple_daemon::__private::Context,
    ) -> ::core::result::Result<(), Self::Error> {
        <std::io::Result<
            (),
        > as ::simple_daemon::__private::TickReturn>::into_result(Worker::tick(self))
    }
}
fn main() -> ::simple_daemon::__private::Exit {
    ::simple_daemon::__private::SimpleDaemon::new("Worker")
        .version("0.0.0")
        .interval(::core::time::Duration::from_secs(300))
        .main(|| ::simple_daemon::__private::new_state::<Worker, _>(Worker::new()))
}
