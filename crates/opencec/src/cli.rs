//! Command-line surface; names are part of the public contract (`interfaces.md`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "opencec",
    version,
    about = "OpenCEC open-source contact center"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SIP, media, the HTTP API and web pages in one process.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Validate the configuration file and exit (non-zero with the field and reason on error).
    CheckConfig(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// TOML configuration file; every key can also be set as OPENCEC_<SECTION>__<KEY>.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Directory for the database, prompts and recordings.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Seed (idempotently) the demo tenant and print its credentials.
    #[arg(long)]
    pub demo: bool,
}
