// Spelled-out units: the hint keeps the digits and fixes the unit.
use simple_daemon::daemon;

#[derive(Default)]
struct Worker;

#[daemon(name = "MyDaemon", interval = "5 sec", stop_timeout = "1 hr", watchdog = "30 Seconds")]
impl Worker {
    fn tick(&mut self) {}
}
