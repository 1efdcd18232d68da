// TEMPORARY experiment: time chunk_file per file. Not committed.
use codeintel_index::lang::{file_kind, FileKind};
fn main() {
    let root = std::env::args().nth(1).unwrap();
    let mut times = Vec::new();
    for e in ignore::WalkBuilder::new(&root).build().flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(kind) = file_kind(&name) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        if text.len() > 1 << 20 {
            continue;
        }
        let t = std::time::Instant::now();
        let out = codeintel_index::chunk_file(kind, &name, &text);
        let d = t.elapsed().as_secs_f64();
        let lang = match kind {
            FileKind::Code(l) => format!("{l:?}"),
            _ => "text".into(),
        };
        times.push((
            d,
            text.len(),
            lang,
            p.display().to_string(),
            out.chunks.len(),
        ));
    }
    let total: f64 = times.iter().map(|t| t.0).sum();
    let bytes: usize = times.iter().map(|t| t.1).sum();
    println!(
        "files {} total {:.2}s bytes {:.1}MB",
        times.len(),
        total,
        bytes as f64 / 1e6
    );
    let mut by_lang = std::collections::BTreeMap::new();
    for t in &times {
        let e = by_lang.entry(t.2.clone()).or_insert((0.0, 0usize, 0));
        e.0 += t.0;
        e.1 += t.1;
        e.2 += 1;
    }
    for (l, (s, b, n)) in by_lang {
        println!(
            "{l:>12} {n:>6} files {:>7.1} MB {:>6.2}s {:>6.1} MB/s",
            b as f64 / 1e6,
            s,
            b as f64 / 1e6 / s
        );
    }
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    for t in times.iter().take(15) {
        println!("{:.3}s {:>8} {} {} chunks {}", t.0, t.1, t.2, t.3, t.4);
    }
    for lim in [65536usize, 131072, 262144, 524288] {
        let s: f64 = times.iter().filter(|t| t.1 > lim).map(|t| t.0).sum();
        let b: usize = times.iter().filter(|t| t.1 > lim).map(|t| t.1).sum();
        println!(
            "> {lim}: {:.1}% of time, {:.1}% of bytes",
            s / total * 100.0,
            b as f64 / bytes as f64 * 100.0
        );
    }
}
