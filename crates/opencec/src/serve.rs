//! `opencec serve`: the one process that will run SIP, media, the API and the web pages.
//! Today it loads and validates the configuration, prepares the data directory and runs until
//! SIGINT or SIGTERM; each component is wired in here as its issue lands.

use anyhow::Context;
use tracing::info;

use crate::cli::ServeArgs;
use crate::config::Config;

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let config = Config::load(args.config.config.as_deref())?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("opencec")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, args))
}

async fn serve(config: Config, args: &ServeArgs) -> anyhow::Result<()> {
    info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %args.data_dir.display(),
        sip_listeners = config.sip_listeners().len(),
        "opencec starting"
    );
    if args.demo {
        info!("demo mode requested; the demo tenant is seeded once storage exists");
    }
    info!("ready; press Ctrl-C to stop");
    shutdown_signal().await?;
    info!("shutdown requested, stopping");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (service managers, `kill`).
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENCEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) is harmless; ignore the error.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
