use simple_daemon::daemon;

#[daemon(name = "MyDaemon")]
fn work() {}
