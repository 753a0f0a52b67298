use simple_daemon::{daemon, Context};

#[daemon(name = "Stateless", level = "warn")]
fn tick(ctx: &Context) -> Result<(), std::fmt::Error> {
    ctx.status("ticking");
    Ok(())
}
