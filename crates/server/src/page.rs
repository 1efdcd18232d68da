//! Pages of a file for `get_file`, bounded in lines and in characters.
//!
//! A page starts at a line and a column (1-based, in characters) and holds whole lines while
//! they fit; a line longer than a whole page comes in pieces. A page that stops before what was
//! asked for carries where the next one starts, and that place is always past this page's
//! start, so a client reading on can never loop.

/// Lines a page holds at most.
pub const MAX_PAGE_LINES: usize = 2000;

/// Where a page starts and where the caller wants it to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub start_line: usize,
    /// 1-based, in characters, within `start_line`.
    pub start_column: usize,
    /// Last line wanted (inclusive); `None` for "as much as fits".
    pub end_line: Option<usize>,
}

/// One page of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The text; every whole line ends with `\n`, a piece of a line does not.
    pub content: String,
    /// The last line the page holds, whole or in part (`start_line - 1` for an empty page).
    pub end_line: usize,
    pub total_lines: usize,
    /// Where the next page starts (line, column) when this one stopped early.
    pub next: Option<(usize, usize)>,
}

/// The page of `text` that `request` asks for, at most `max_chars` characters of content.
pub fn page(text: &str, request: PageRequest, max_chars: usize) -> Page {
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    let start = request.start_line.max(1);
    let last_allowed = start.saturating_add(MAX_PAGE_LINES - 1).min(total);
    let end = request
        .end_line
        .map_or(last_allowed, |e| e.min(last_allowed));
    let mut content = String::new();
    let mut left = max_chars.max(1);
    let mut shown_end = start - 1;
    let mut next = None;
    for n in start..=end {
        let line = lines[n - 1];
        let column = if n == start {
            request.start_column.max(1)
        } else {
            1
        };
        let rest = &line[byte_at_char(line, column - 1)..];
        let chars = rest.chars().count();
        if chars < left {
            content.push_str(rest);
            content.push('\n');
            left -= chars + 1;
            shown_end = n;
            continue;
        }
        if content.is_empty() {
            // Longer than a whole page: this page is a piece of it.
            content.push_str(&rest[..byte_at_char(rest, left)]);
            shown_end = n;
            next = Some((n, column + left));
        } else {
            next = Some((n, 1));
        }
        break;
    }
    let wanted_end = request.end_line.unwrap_or(total).min(total);
    if next.is_none() && shown_end < wanted_end {
        next = Some((shown_end + 1, 1));
    }
    Page {
        content,
        end_line: shown_end,
        total_lines: total,
        next,
    }
}

/// The byte offset of character `n` of `s` (its length when `s` is shorter).
fn byte_at_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(start_line: usize, start_column: usize, end_line: Option<usize>) -> PageRequest {
        PageRequest {
            start_line,
            start_column,
            end_line,
        }
    }

    #[test]
    fn whole_small_files_come_in_one_page() {
        let p = page("a\nb\nc\n", ask(1, 1, None), 100);
        assert_eq!(p.content, "a\nb\nc\n");
        assert_eq!((p.end_line, p.total_lines, p.next), (3, 3, None));
    }

    #[test]
    fn pages_stop_at_line_ends_when_the_budget_runs_out() {
        let text = "0123456789\n".repeat(5);
        let p = page(&text, ask(1, 1, None), 25);
        assert_eq!(p.content, "0123456789\n0123456789\n");
        assert_eq!((p.end_line, p.next), (2, Some((3, 1))));
    }

    #[test]
    fn a_line_longer_than_a_page_is_read_in_pieces_always_forward() {
        let long = "é".repeat(25) + "xyz";
        let text = format!("first\n{long}\nlast\n");
        let mut at = (2, 1);
        let mut pieces = String::new();
        let mut pages = 0;
        loop {
            let p = page(&text, ask(at.0, at.1, None), 10);
            pages += 1;
            assert!(pages < 20, "paging does not move forward");
            pieces.push_str(&p.content);
            match p.next {
                Some(n) => {
                    assert!(n > at, "{n:?} after {at:?}");
                    at = n;
                }
                None => break,
            }
        }
        assert_eq!(pieces, format!("{long}\nlast\n"));
    }

    #[test]
    fn the_requested_end_is_kept_and_needs_no_next() {
        let text = "a\nb\nc\nd\n";
        let p = page(text, ask(2, 1, Some(3)), 100);
        assert_eq!(
            (p.content.as_str(), p.end_line, p.next),
            ("b\nc\n", 3, None)
        );
    }

    #[test]
    fn line_limits_hold_and_past_the_end_is_empty() {
        let text = "x\n".repeat(MAX_PAGE_LINES + 5);
        let p = page(&text, ask(1, 1, None), usize::MAX);
        assert_eq!(p.end_line, MAX_PAGE_LINES);
        assert_eq!(p.next, Some((MAX_PAGE_LINES + 1, 1)));
        let empty = page("a\n", ask(5, 1, None), 100);
        assert_eq!((empty.content.as_str(), empty.next), ("", None));
    }
}
