// A crate that re-exports the runtime names the path the generated code goes through.
mod facade {
    pub use simple_daemon;
}

use simple_daemon::daemon;

#[daemon(name = "Facade", crate = "crate::facade::simple_daemon")]
fn tick() {}
