use simple_daemon::daemon;

#[daemon(name = "MyDaemon")]
fn main() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
