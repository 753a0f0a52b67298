use simple_daemon::daemon;

#[daemon(name = "Beat", worker_threads = 2)]
async fn tick() {}
