//! `codeintel refs`, `callers`, `callees`: code navigation, the same answers as the
//! `find_references` and `get_call_graph` tools.

use super::{open_existing_store, usage_if_invalid};
use crate::cli::{CallGraphArgs, DefinitionArgs, RefsArgs};
use crate::config::Config;
use crate::output;
use crate::UsageError;
use codeintel_index::navigate::{CallNode, DefinitionQuery, Direction, References};
use codeintel_index::RefKind;
use std::process::ExitCode;

fn query(d: &DefinitionArgs) -> DefinitionQuery<'_> {
    DefinitionQuery {
        name: &d.name,
        repository: d.repo.as_deref(),
        path: d.path.as_deref(),
        line: d.line,
    }
}

pub fn refs(config: &Config, args: RefsArgs) -> anyhow::Result<ExitCode> {
    let kind = args
        .kind
        .as_deref()
        .map(RefKind::parse)
        .transpose()
        .map_err(UsageError)?;
    let found = match open_existing_store(config)? {
        Some(store) => store
            .find_references(&query(&args.definition), kind, usize::from(args.limit))
            .map_err(usage_if_invalid)?,
        None => References {
            references: Vec::new(),
            total: 0,
            note: Some("nothing is indexed yet".into()),
        },
    };
    if let Some(note) = &found.note {
        eprintln!("note: {note}");
    }
    if args.definition.json {
        output::print_json(&found.references)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = found
        .references
        .iter()
        .map(|r| {
            vec![
                format!("{}/{}:{}:{}", r.repository, r.path, r.line, r.column),
                r.kind.to_string(),
                r.confidence.name().to_string(),
                r.symbol.clone().unwrap_or_else(|| "-".into()),
                r.snippet.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("no references");
        return Ok(ExitCode::SUCCESS);
    }
    output::write_stdout(&output::table(
        &["SITE", "KIND", "CONFIDENCE", "IN", "LINE"],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub fn graph(
    config: &Config,
    args: CallGraphArgs,
    direction: Direction,
) -> anyhow::Result<ExitCode> {
    let Some(store) = open_existing_store(config)? else {
        eprintln!("note: nothing is indexed yet");
        return empty(args.definition.json);
    };
    let found = store
        .call_graph(
            &query(&args.definition),
            direction,
            args.depth,
            usize::from(args.limit),
        )
        .map_err(usage_if_invalid)?;
    let Some(graph) = found else {
        eprintln!(
            "note: no definition named `{}` is indexed",
            args.definition.name
        );
        return empty(args.definition.json);
    };
    if let Some(note) = &graph.note {
        eprintln!("note: {note}");
    }
    if args.definition.json {
        output::print_json(&graph)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    tree(&graph.root, 0, &mut text);
    output::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// An unknown name: an empty tree, not an error.
fn empty(json: bool) -> anyhow::Result<ExitCode> {
    if json {
        output::print_json(&serde_json::json!({ "calls": [], "nodes": 0 }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One node per line, indented by depth: `name  repo/path:line  (confidence, lines)`.
fn tree(node: &CallNode, depth: usize, out: &mut String) {
    let mut line = format!(
        "{}{} {}  {}/{}:{}",
        "  ".repeat(depth),
        node.kind,
        node.symbol,
        node.repository,
        node.path,
        node.line
    );
    if let Some(c) = node.confidence {
        let sites: Vec<String> = node.sites.iter().map(u32::to_string).collect();
        line.push_str(&format!("  ({}, line {})", c.name(), sites.join(", ")));
    }
    if node.cycle {
        line.push_str("  [cycle]");
    }
    out.push_str(&line);
    out.push('\n');
    for child in &node.calls {
        tree(child, depth + 1, out);
    }
}
