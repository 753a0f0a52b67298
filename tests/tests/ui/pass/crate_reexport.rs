// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
// A crate that re-exports simple_daemon points the generated code at its path.
mod facade {
    pub use simple_daemon;
}

use simple_daemon::daemon;

#[daemon(name = "Facade", log_path = ".", crate = "crate::facade::simple_daemon")]
fn tick() {
    std::process::exit(0);
}
