// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
// Directives in `level`, JSON lines, and key-value fields through the re-exported `log`.
use simple_daemon::daemon;

#[daemon(name = "Structured", log_path = ".", level = "info,hyper=warn,structured::db=trace", log_format = "json")]
fn tick() {
    simple_daemon::log::info!(user = 42, path = "/x"; "login");
    std::process::exit(0);
}
