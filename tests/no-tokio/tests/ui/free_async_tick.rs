use simple_daemon::{daemon, Context};

// The DESIGN's poller, stateless, in a project that did not enable the feature.
#[daemon(name = "Poller", interval = "30s")]
async fn tick(ctx: &Context) -> Result<(), std::io::Error> {
    let _ = ctx;
    Ok(())
}
