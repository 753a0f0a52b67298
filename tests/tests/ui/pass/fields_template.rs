// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
// The `{fields}` template field.
use simple_daemon::daemon;

#[daemon(name = "Fields", log_path = ".", level = "DEBUG,x=off", log_format = "{level} {message} [{fields}]")]
fn tick() {
    simple_daemon::log::info!(ok = true; "done");
    std::process::exit(0);
}
