//! `codeintel discover`: preview the repositories under the scan paths.

use crate::cli::DiscoverArgs;
use crate::config::Config;
use crate::output;
use crate::UsageError;
use codeintel_discovery::{Discovery, DiscoveryOptions};
use std::process::ExitCode;

pub fn run(config: &Config, args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        config.auto_sync.paths.clone()
    } else {
        args.paths
    };
    if paths.is_empty() {
        return Err(UsageError(format!(
            "no folders to scan: pass one (`codeintel discover ~/projects`) or set \
             AUTO_SYNC_PATHS=~/projects in {}",
            config.env_file.display()
        ))
        .into());
    }
    let extra = if args.exclude.is_empty() {
        config.auto_sync.exclude.clone()
    } else {
        args.exclude
    };
    let options = DiscoveryOptions {
        max_depth: args.max_depth,
        min_files: args.min_files,
        ..DiscoveryOptions::default()
    }
    .with_extra_excludes(extra);
    let discovery = Discovery::new(options).map_err(|e| UsageError(e.to_string()))?;
    let report = discovery.run(&paths);
    if args.json {
        output::print_json(&output::repositories_json(&report.repositories))?;
    } else {
        output::print_repository_table(&report.repositories)?;
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
