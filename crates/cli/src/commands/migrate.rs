//! `codeintel migrate-store --to URL`: the whole index copied into another, empty store.

use super::{open_existing_store, usage_if_invalid};
use crate::cli::MigrateStoreArgs;
use crate::config::Config;
use crate::{output, UsageError};
use codeintel_index::{copy_index, redact_store, IndexStore, StoreLocation};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct MigrateJson {
    from: String,
    to: String,
    #[serde(flatten)]
    counts: codeintel_index::CopyCounts,
}

pub fn run(config: &Config, args: MigrateStoreArgs) -> anyhow::Result<ExitCode> {
    let to = StoreLocation::parse(&args.to).map_err(|reason| {
        UsageError(format!(
            "invalid --to value `{}`: {reason}",
            redact_store(&args.to)
        ))
    })?;
    if to == config.store {
        return Err(UsageError("--to names the store in use: nothing to copy".into()).into());
    }
    let Some(from) = open_existing_store(config)? else {
        return Ok(ExitCode::from(1));
    };
    let dest = IndexStore::open_at(&to, &config.data_dir, false)?;
    let json = args.json;
    let counts = copy_index(&from, &dest, &mut |name| {
        if !json {
            eprintln!("copying {name}");
        }
    })
    .map_err(usage_if_invalid)?;
    let result = MigrateJson {
        from: from.path().display().to_string(),
        to: dest.path().display().to_string(),
        counts,
    };
    if json {
        output::print_json(&result)?;
    } else {
        println!(
            "copied {} repositories ({} files, {} chunks) from {} to {}",
            counts.repositories, counts.files, counts.chunks, result.from, result.to
        );
        if counts.contents_missing > 0 {
            println!(
                "note: {} files were neither in the old store nor on disk as indexed: get_file \
                 serves them only where they are on disk",
                counts.contents_missing
            );
        }
        println!("vectors are not copied: the destination embeds the chunks in the background");
    }
    Ok(ExitCode::SUCCESS)
}
