//! Identifier-aware terms: `parseConfig`, `parse_config` and `ParseConfig` all become
//! `parse config`, both in what is indexed and in queries.
//!
//! SQLite's `unicode61` tokenizer already splits at `_` and punctuation; what it cannot do is
//! split camelCase humps. The indexed text therefore gets the humps of every mixed-case
//! identifier appended, and queries are split the same way.

/// Splits one identifier at case humps and letter/digit boundaries:
/// `HTTPServerError2` → `HTTP Server Error 2`. Returns nothing for identifiers with one part.
pub fn camel_parts(ident: &str) -> Vec<&str> {
    // Most words of code and prose are one-part lowercase ASCII: answer them without decoding
    // (this runs on every word of every indexed chunk).
    if ident
        .bytes()
        .skip(1)
        .all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Vec::new();
    }
    let chars: Vec<(usize, char)> = ident.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (pos, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        let boundary = (prev.is_lowercase() && c.is_uppercase())
            || (prev.is_uppercase() && c.is_uppercase() && next_lower)
            || (prev.is_alphabetic() && c.is_numeric())
            || (prev.is_numeric() && c.is_alphabetic());
        if boundary {
            parts.push(&ident[start..pos]);
            start = pos;
        }
    }
    if start == 0 {
        return Vec::new();
    }
    parts.push(&ident[start..]);
    parts
}

/// Alphanumeric words of `text` (what `unicode61` calls tokens, with `_` as a separator).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The extra terms to index for `text`: the humps of its mixed-case words, space-separated.
pub fn hump_terms(text: &str) -> String {
    let mut out = String::new();
    for word in words(text) {
        for part in camel_parts(word) {
            out.push_str(part);
            out.push(' ');
        }
    }
    out
}

/// Lowercased query terms: words split at humps, deduplicated, in order.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in words(query) {
        let parts = camel_parts(word);
        let pieces: Vec<&str> = if parts.is_empty() { vec![word] } else { parts };
        for piece in pieces {
            let term = piece.to_lowercase();
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    terms
}

/// English function words that say nothing about code. Dropped from sentence-like queries
/// (three words or more), where they would otherwise match every comment.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "when",
    "where", "what", "which", "who", "how", "why", "do", "does", "did", "we", "our", "us", "i",
    "you", "your", "my", "me", "is", "are", "was", "were", "be", "been", "it", "its", "that",
    "this", "these", "those", "and", "or", "but", "so", "if", "then", "than", "there", "here",
    "after", "before", "some", "any", "all", "can", "should", "would", "could", "will",
];

/// Query terms without stopwords when the query reads like a sentence; never empty when the
/// query had terms.
pub fn search_terms(query: &str) -> Vec<String> {
    let terms = query_terms(query);
    if terms.len() < 3 {
        return terms;
    }
    let kept: Vec<String> = terms
        .iter()
        .filter(|t| !STOPWORDS.contains(&t.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() {
        terms
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humps() {
        assert_eq!(camel_parts("parseConfig"), ["parse", "Config"]);
        assert_eq!(camel_parts("ParseConfig"), ["Parse", "Config"]);
        assert_eq!(
            camel_parts("HTTPServerError2"),
            ["HTTP", "Server", "Error", "2"]
        );
        assert!(camel_parts("parse").is_empty());
        assert!(camel_parts("PARSE").is_empty());
        assert!(camel_parts("Parse").is_empty());
        assert_eq!(camel_parts("aB"), ["a", "B"]);
        assert_eq!(camel_parts("x2"), ["x", "2"]);
    }

    #[test]
    fn queries_split_every_identifier_style() {
        for q in [
            "parseConfig",
            "parse_config",
            "ParseConfig",
            "parse config",
            "PARSE-config",
        ] {
            assert_eq!(query_terms(q), ["parse", "config"], "{q}");
        }
        assert!(query_terms("\"*-() NEAR").iter().all(|t| t == "near"));
        assert!(query_terms("!!! ---").is_empty());
    }

    #[test]
    fn sentences_lose_their_stopwords_short_queries_keep_them() {
        assert_eq!(
            search_terms("where do we retry failed uploads"),
            ["retry", "failed", "uploads"]
        );
        assert_eq!(search_terms("is empty"), ["is", "empty"]);
        assert_eq!(search_terms("the and of"), ["the", "and", "of"]);
    }

    #[test]
    fn hump_terms_cover_mixed_case_words_only() {
        assert_eq!(hump_terms("fn parseConfig(x_y: Foo)"), "parse Config ");
    }
}
