use simple_daemon::daemon;

#[daemon(name = "MyDaemon")]
fn tick() -> u32 {
    0
}
