//! `opencec`: the contact-center binary. It parses the command line, loads the configuration and
//! wires the components together; everything protocol- or business-shaped lives in the library
//! crates (see `docs/architecture.md`).

mod call_config;
mod call_service;
mod cli;
mod config;
mod control;
mod demo;
mod echo;
mod media_control;
mod records;
mod serve;
mod sip_service;
mod store_setup;

use clap::Parser;

/// mimalloc: thread-local free lists instead of glibc's locked arenas (see the workspace
/// manifest for the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Migrate(args) => {
            let config = config::Config::load(args.config.as_deref())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let store = store_setup::open(&config, std::path::Path::new("./data")).await?;
                println!("migrations applied ({:?})", store.backend());
                store.close().await;
                anyhow::Ok(())
            })
        }
        Command::CheckConfig(args) => {
            let config = config::Config::load(args.config.as_deref())?;
            println!("configuration is valid");
            println!("{}", config.summary());
            Ok(())
        }
    }
}
