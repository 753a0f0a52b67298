use simple_daemon::daemon;

#[daemon(name = "Stateless", interval = "10s", stream)]
fn tick() {}
