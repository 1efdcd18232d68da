//! Words a chunk must hold to contain a match: exact and regex searches look only at the
//! chunks the lexical index finds holding all of them, then match line by line. A prefilter
//! may only ever be too wide: a word is required only when every match has it as a whole word
//! (a literal's first and last words may be the ends of longer words in the text).

use crate::text;
use regex_syntax::hir::{Hir, HirKind};

/// Words that every chunk containing `literal` must hold: the words strictly inside it (its
/// first and last words may be cut off mid-word), lowercase.
pub(super) fn exact_prefilter(literal: &str) -> Option<Vec<String>> {
    let inner = whole_words(literal, false, false);
    (!inner.is_empty()).then_some(inner)
}

/// Words that every chunk with a match of `pattern` must hold: those of the literal runs
/// every match contains (`fn \w+_timeout\(` must contain `_timeout(`, so `timeout`), as
/// [`exact_prefilter`] finds them in each run, and a run's first or last word too where a line
/// end or a character that is no part of a word borders it (`^socket\.settimeout\(`).
/// Without such a word (alternations, classes, case-insensitive letters), `None`: every chunk
/// is matched.
pub(super) fn regex_prefilter(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut runs = Runs::default();
    runs.required(&hir);
    runs.flush(false);
    let mut words: Vec<String> = Vec::new();
    for run in &runs.done {
        for word in whole_words(&run.text, run.starts_whole, run.ends_whole) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    (!words.is_empty()).then_some(words)
}

/// Literal text every match holds, and whether what borders it makes its end words whole.
struct Run {
    text: String,
    /// Preceded by a line start or a character that is no part of a word.
    starts_whole: bool,
    /// Followed by a line end or such a character.
    ends_whole: bool,
}

/// The lowercase words of literal `text` that are whole words of any text holding it, and
/// indexed (a word too long for the lexical index would match no chunk). `starts_whole` and
/// `ends_whole`: what borders it cannot continue a word, so its first or last word is whole.
fn whole_words(text: &str, starts_whole: bool, ends_whole: bool) -> Vec<String> {
    let words: Vec<&str> = text::words(text).collect();
    let cut = |c: Option<char>, whole: bool| !whole && c.is_some_and(|c| c.is_alphanumeric());
    let lo = usize::from(cut(text.chars().next(), starts_whole));
    let hi = words
        .len()
        .saturating_sub(usize::from(cut(text.chars().last(), ends_whole)));
    words
        .get(lo..hi)
        .unwrap_or_default()
        .iter()
        .filter(|w| w.len() < crate::lexical::MAX_TERM_BYTES)
        .map(|w| w.to_lowercase())
        .collect()
}

/// The literal runs every match holds, collected in one walk of the pattern.
#[derive(Default)]
struct Runs {
    /// The run being built: literals adjacent in a concatenation.
    current: String,
    current_starts_whole: bool,
    /// What the walk passed last ends at a line start or with a character no word holds.
    after_border: bool,
    done: Vec<Run>,
}

impl Runs {
    fn push(&mut self, literal: &str) {
        if self.current.is_empty() {
            self.current_starts_whole = self.after_border;
        }
        self.current.push_str(literal);
        self.after_border = literal.chars().last().is_some_and(|c| !c.is_alphanumeric());
    }

    /// Ends the current run; `ends_whole` when what follows is a border.
    fn flush(&mut self, ends_whole: bool) {
        if !self.current.is_empty() {
            self.done.push(Run {
                text: std::mem::take(&mut self.current),
                starts_whole: self.current_starts_whole,
                ends_whole,
            });
        }
    }

    /// Breaks the run at something that matches; `border` when it is one.
    fn pass(&mut self, border: bool) {
        self.flush(border);
        self.after_border = border;
    }

    fn required(&mut self, hir: &Hir) {
        match hir.kind() {
            HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                Ok(s) => self.push(s),
                Err(_) => self.pass(false),
            },
            HirKind::Concat(parts) => parts.iter().for_each(|p| self.required(p)),
            // A group is its content, in place.
            HirKind::Capture(group) => self.required(&group.sub),
            _ if is_border(hir) => self.pass(true),
            // At least once: what the content requires, but not joined to its neighbours
            // (`ab+c` matches `abbc`, which does not hold `abc`).
            HirKind::Repetition(rep) if rep.min >= 1 => {
                self.pass(false);
                self.required(&rep.sub);
                self.pass(false);
            }
            // Alternatives, optional parts, other classes and assertions: nothing every match
            // holds here, and the run is broken.
            _ => self.pass(false),
        }
    }
}

/// Classes this small are checked character by character.
const MAX_BORDER_CLASS: u32 = 1024;

/// Whether `hir` only ever matches at a line's start or end, or characters no word holds
/// (`\s+`, `[ (]`). Word boundaries (`\b`) are not borders: Unicode's word characters are
/// not exactly the alphanumeric ones words are made of here.
fn is_border(hir: &Hir) -> bool {
    use regex_syntax::hir::{Class, Look};
    match hir.kind() {
        HirKind::Look(look) => matches!(
            look,
            Look::Start | Look::End | Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF
        ),
        HirKind::Repetition(rep) => rep.min >= 1 && is_border(&rep.sub),
        HirKind::Class(Class::Unicode(class)) => {
            let size: u32 = class
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            size <= MAX_BORDER_CLASS
                && class
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .all(|c| !c.is_alphanumeric())
        }
        HirKind::Class(Class::Bytes(class)) => class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .all(|b| b.is_ascii() && !b.is_ascii_alphanumeric()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefilter_uses_only_whole_words() {
        assert_eq!(exact_prefilter("onfig.parse(x"), Some(vec!["parse".into()]));
        assert_eq!(exact_prefilter("foo"), None);
        assert_eq!(exact_prefilter("->"), None);
        assert_eq!(
            exact_prefilter(" foo.bar "),
            Some(vec!["foo".into(), "bar".into()])
        );
    }

    fn words(pattern: &str) -> Option<Vec<&'static str>> {
        regex_prefilter(pattern).map(|w| {
            w.into_iter()
                .map(|s| &*Box::leak(s.into_boxed_str()))
                .collect()
        })
    }

    #[test]
    fn a_regex_requires_the_whole_words_of_its_literal_runs() {
        assert_eq!(words(r"fn \w+_timeout\("), Some(vec!["timeout"]));
        assert_eq!(words(r"(parse_config)\("), Some(vec!["config"]));
        assert_eq!(words(r"x+ hello world"), Some(vec!["hello"]));
        assert_eq!(words(r"(foo|bar) baz qux"), Some(vec!["baz"]));
        assert_eq!(words(r"\.open\(.*\.read\("), Some(vec!["open", "read"]));
        assert_eq!(words(r"( parse\.)+"), Some(vec!["parse"]));
    }

    #[test]
    fn line_ends_and_non_word_characters_make_a_runs_end_words_whole() {
        assert_eq!(
            words(r"^socket\.settimeout$"),
            Some(vec!["socket", "settimeout"])
        );
        assert_eq!(words(r"(?m)^socket\.x"), Some(vec!["socket"]));
        assert_eq!(words(r"\s+socket\.x"), Some(vec!["socket"]));
        assert_eq!(words(r"[ (]socket\.x"), Some(vec!["socket"]));
        assert_eq!(words(r"x\.settimeout[ (]"), Some(vec!["settimeout"]));
        assert_eq!(words(r"x\.settimeout\s"), Some(vec!["settimeout"]));
        // Not borders: optional, holding word characters, too large to check, `\b`.
        assert_eq!(words(r"\s*socket\.x"), None);
        assert_eq!(words(r"[a (]socket\.x"), None);
        assert_eq!(words(r"\Wsocket\.x"), None);
        assert_eq!(words(r"\bsocket\.x"), None);
        // A border inside a repetition says nothing of what precedes the next run.
        assert_eq!(words(r"(x )+socket\.x"), None);
    }

    #[test]
    fn a_regex_without_a_sure_whole_word_has_no_prefilter() {
        // Each word may be the end of a longer one: `websocket.settimeouts`.
        assert_eq!(words(r"socket\.settimeout"), None);
        assert_eq!(words(r"(?i) hello world "), None);
        assert_eq!(words(r" (hello|world) "), None);
        assert_eq!(words(r"( hello )?x"), None);
        assert_eq!(words(r"( hello )*x"), None);
        // `ab+c`: `b` repeats, so ` ab` and `c ` are the runs, not ` abc `.
        assert_eq!(words(r" ab+c "), None);
        assert_eq!(words(r"\bfoo\b"), None);
        assert_eq!(words(r"[unclosed"), None);
    }
}
