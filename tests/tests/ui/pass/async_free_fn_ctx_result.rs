// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::{daemon, Context};

#[daemon(name = "Watcher", log_path = ".")]
async fn tick(ctx: &Context) -> Result<(), std::fmt::Error> {
    tokio::select! {
        () = ctx.stopped() => {}
        () = tokio::time::sleep(std::time::Duration::from_millis(1)) => std::process::exit(0),
    }
    Err(std::fmt::Error)
}
