//! `opencec serve`: the one process that will run SIP, media, the API and the web pages.
//! Today it loads and validates the configuration, prepares the data directory and runs until
//! SIGINT or SIGTERM; each component is wired in here as its issue lands.

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
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
    // Handlers go in before anything announces readiness: a signal that arrives between
    // "ready" and their installation would otherwise kill the process uncleanly.
    let mut shutdown = ShutdownSignals::install()?;
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
    shutdown.recv().await;
    info!("shutdown requested, stopping");
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM (service managers, `kill`), registered at once.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())
                .context("cannot install the SIGINT handler")?,
            terminate: signal(SignalKind::terminate())
                .context("cannot install the SIGTERM handler")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
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
