//! One module per subcommand. Each loads what it needs from the shared [`Config`].

mod discover;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use std::process::ExitCode;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        env_file: cli.env_file,
        data_dir: cli.data_dir,
    };
    let config = Config::load(&overrides)?;
    tracing::debug!(
        env_file = %config.env_file.display(),
        data_dir = %config.data_dir.display(),
        "configuration loaded"
    );
    match cli.command {
        Command::Discover(args) => discover::run(&config, args),
    }
}
