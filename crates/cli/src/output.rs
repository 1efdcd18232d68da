//! Human and JSON renderings of results. JSON field names are the design's contract.

use codeintel_discovery::Repository;
use serde::Serialize;
use std::io::Write;
use std::time::SystemTime;

#[derive(Debug, Serialize)]
pub struct RepositoryJson {
    pub path: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub language: &'static str,
    pub size: u64,
    pub file_count: u64,
    pub last_modified: String,
    pub indicators: Vec<String>,
}

pub fn repositories_json(repos: &[Repository]) -> Vec<RepositoryJson> {
    repos
        .iter()
        .map(|r| RepositoryJson {
            path: r.path.to_string_lossy().into_owned(),
            name: r.name.clone(),
            kind: r.kind.name(),
            language: r.language.name(),
            size: r.size,
            file_count: r.file_count,
            last_modified: rfc3339(r.last_modified),
            indicators: r.indicators.iter().map(|i| i.to_string()).collect(),
        })
        .collect()
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Writes `value` as pretty JSON to stdout. A closed pipe (`| head`) is not an error.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    // Stdout is line-buffered: without a buffer, every JSON line is its own write(2).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(out))
        .and_then(|_| out.flush());
    ignore_broken_pipe(written)
}

fn ignore_broken_pipe(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Bytes in the largest unit that keeps the number at least 1 (binary units).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header_row: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push('\n');
    }
    text
}

pub fn print_repository_table(repos: &[Repository]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = repos
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.language.name().to_string(),
                r.kind.name().to_string(),
                r.file_count.to_string(),
                human_size(r.size),
                rfc3339(r.last_modified),
                r.path.display().to_string(),
            ]
        })
        .collect();
    let files: u64 = repos.iter().map(|r| r.file_count).sum();
    let bytes: u64 = repos.iter().map(|r| r.size).sum();
    let mut text = table(
        &[
            "NAME", "LANGUAGE", "TYPE", "FILES", "SIZE", "MODIFIED", "PATH",
        ],
        &rows,
    );
    text.push_str(&format!(
        "{} repositories, {files} code files, {}\n",
        repos.len(),
        human_size(bytes)
    ));
    write_stdout(&text)
}

/// Writes text to stdout; a closed pipe is not an error.
/// A progress bar on stderr drawn with `template` (indicatif's), hidden when `quiet` (`--json`)
/// and by indicatif itself when stderr is not a terminal.
pub fn progress_bar(template: &str, quiet: bool) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    ignore_broken_pipe(std::io::stdout().lock().write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(104_857_600), "100.0 MiB");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
    }
}
