// Compiles, starts, and ends in its first tick (trybuild runs each passing case).
use simple_daemon::{daemon, Context};

#[daemon(name = "Stateless", log_path = ".")]
fn tick(ctx: &Context) -> Result<(), std::fmt::Error> {
    if ctx.name() == "Stateless" {
        std::process::exit(0);
    }
    Err(std::fmt::Error)
}
