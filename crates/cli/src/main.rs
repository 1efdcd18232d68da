//! `codeintel`: find, index and search every code repository under the folders you name.

mod cli;
mod client;
mod commands;
mod config;
mod envfile;
mod output;

use clap::Parser;

/// mimalloc, built to override `malloc` process-wide: tree-sitter and SQLite allocate through
/// the C allocator, and allocation was ~10% of indexing time with glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// No transparent huge pages for this process. A 2 MB page counts whole in the resident set
/// however little of it is in use, and the allocator's arenas are aligned for them: with them
/// the full index of the 8-copy corpus peaked at 294 MB, without at 255 MB, for no measurable
/// loss of speed (BENCHMARKS.md, session 12). The `no_thp` feature stops mimalloc asking for
/// them (the kernel's `madvise` mode); this covers the kernels set to `always`.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours; a kernel
    // without it returns an error, which leaves things as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// An error caused by how the program was called or configured (exit code 2), as opposed to a
/// failure while doing the work (exit code 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    no_huge_pages();
    let args = cli::Cli::parse();
    // Long-running services report what they find and index; one-shot commands stay quiet.
    let service = matches!(args.command, cli::Command::Serve(_) | cli::Command::Daemon);
    init_logging(args.verbose + u8::from(service));
    match commands::run(args) {
        Ok(code) => code,
        Err(err) => {
            let usage = err.downcast_ref::<UsageError>().is_some()
                || err.downcast_ref::<config::ConfigError>().is_some()
                || err.downcast_ref::<envfile::EnvFileError>().is_some();
            eprintln!("error: {err:#}");
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Logs go to stderr only: stdout carries results (and, for `serve`, the MCP protocol).
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // The MCP SDK logs every protocol hiccup; the CLI reports them itself, so by default only
    // its own warnings show.
    let default = match verbose {
        0 => "warn,rmcp=off",
        1 => "info,rmcp=warn",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("CODEINTEL_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .compact()
        .init();
}
