//! Words a chunk must hold to contain a match: exact and regex searches look only at the
//! chunks the lexical index finds holding all of them, then match line by line. A prefilter
//! may only ever be too wide: a word is required only when every match has it as a whole word
//! (a literal's first and last words may be the ends of longer words in the text).

use crate::text;
use regex_syntax::hir::{Hir, HirKind};

/// Words that every chunk containing `literal` must hold: the words strictly inside it (its
/// first and last words may be cut off mid-word), lowercase.
pub(super) fn exact_prefilter(literal: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = text::words(literal).collect();
    let starts_mid = literal.chars().next().is_some_and(|c| c.is_alphanumeric());
    let ends_mid = literal.chars().last().is_some_and(|c| c.is_alphanumeric());
    let lo = usize::from(starts_mid);
    let hi = words.len().saturating_sub(usize::from(ends_mid));
    let inner: Vec<String> = words
        .get(lo..hi)?
        .iter()
        .map(|w| w.to_lowercase())
        .collect();
    (!inner.is_empty()).then_some(inner)
}

/// Words that every chunk with a match of `pattern` must hold: those of the literal runs
/// every match contains (`fn \w+_timeout\(` must contain `_timeout(`, so `timeout`), as
/// [`exact_prefilter`] finds them in each run. Without such a run (alternations, classes,
/// case-insensitive letters), `None`: every chunk is matched.
pub(super) fn regex_prefilter(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut runs = Runs::default();
    runs.required(&hir);
    runs.flush();
    let mut words: Vec<String> = Vec::new();
    for run in &runs.done {
        for word in exact_prefilter(run).into_iter().flatten() {
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    (!words.is_empty()).then_some(words)
}

/// Literal text that every match holds, run by run.
#[derive(Default)]
struct Runs {
    /// The run being built: literals adjacent in a concatenation.
    current: String,
    done: Vec<String>,
}

impl Runs {
    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    fn required(&mut self, hir: &Hir) {
        match hir.kind() {
            HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                Ok(s) => self.current.push_str(s),
                Err(_) => self.flush(),
            },
            HirKind::Concat(parts) => parts.iter().for_each(|p| self.required(p)),
            // A group is its content, in place.
            HirKind::Capture(group) => self.required(&group.sub),
            // At least once: what the content requires, but not joined to its neighbours
            // (`ab+c` matches `abbc`, which does not hold `abc`).
            HirKind::Repetition(rep) if rep.min >= 1 => {
                self.flush();
                self.required(&rep.sub);
                self.flush();
            }
            // Alternatives, optional parts, classes, assertions: nothing every match holds
            // here, and the run is broken.
            _ => self.flush(),
        }
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
