//! Snippets: the best matching line of a chunk with a little context, numbered, matching lines
//! marked; a long line is shown around its match.

/// Characters of a line a snippet shows at most.
pub(super) const SNIPPET_LINE_CHARS: usize = 200;

/// How many query terms each line of `content` holds.
pub(super) fn terms_per_line<'a>(
    content: &'a str,
    terms: &'a [String],
) -> impl Iterator<Item = usize> + 'a {
    content.lines().map(move |line| {
        let lower = line.to_lowercase();
        terms.iter().filter(|t| lower.contains(t.as_str())).count()
    })
}

/// The line holding the most query terms, with a little context.
pub(super) fn snippet_for_terms(content: &str, start_line: u32, terms: &[String]) -> (u32, String) {
    let mut best = (0usize, 0usize);
    let mut matching = Vec::new();
    for (i, n) in terms_per_line(content, terms).enumerate() {
        if n > 0 {
            matching.push(start_line + i as u32);
        }
        if n > best.1 {
            best = (i, n);
        }
    }
    let line = start_line + best.0 as u32;
    let snippet = render_snippet(content, start_line, line, &matching, |l| {
        first_term_at(l, terms)
    });
    (line, snippet)
}

/// Lines holding any query term.
pub(super) fn matching_lines(content: &str, start_line: u32, terms: &[String]) -> Vec<u32> {
    terms_per_line(content, terms)
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .map(|(i, _)| start_line + i as u32)
        .collect()
}

/// `line` with one line before and two after, numbered; matching lines marked with `>`. A line
/// longer than [`SNIPPET_LINE_CHARS`] is shown around where `focus` finds the match (a byte
/// offset in the line), so a hit in a minified bundle shows the match, not the line's start.
pub(super) fn render_snippet(
    content: &str,
    start_line: u32,
    line: u32,
    matching: &[u32],
    focus: impl Fn(&str) -> Option<usize>,
) -> String {
    let first = line.saturating_sub(1).max(start_line);
    let last = line + 2;
    let mut out = String::new();
    for (i, text) in content.lines().enumerate() {
        let n = start_line + i as u32;
        if n < first {
            continue;
        }
        if n > last {
            break;
        }
        let marker = if matching.contains(&n) { '>' } else { ' ' };
        let shown = clip_line(text, if marker == '>' { focus(text) } else { None });
        out.push_str(&format!("{marker}{n:>5}: {shown}\n"));
    }
    out.truncate(out.trim_end().len());
    out
}

/// At most [`SNIPPET_LINE_CHARS`] characters of `text`, starting a little before `at` when
/// the line is longer than that; `…` marks what was left out.
pub(super) fn clip_line(text: &str, at: Option<usize>) -> String {
    const BEFORE: usize = 60;
    if text.chars().count() <= SNIPPET_LINE_CHARS {
        return text.to_string();
    }
    let mut from = at.unwrap_or(0).saturating_sub(BEFORE).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let rest = &text[from..];
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(rest.chars().take(SNIPPET_LINE_CHARS));
    if rest.chars().nth(SNIPPET_LINE_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

/// Where the first query term appears in `line` (byte offset).
pub(super) fn first_term_at(line: &str, terms: &[String]) -> Option<usize> {
    let lower = line.to_ascii_lowercase();
    terms.iter().filter_map(|t| lower.find(t.as_str())).min()
}
