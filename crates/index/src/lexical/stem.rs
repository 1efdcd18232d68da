//! English stemming with a memory of the words it has stemmed.
//!
//! Code repeats its words (keywords, the names of a file, of a module) far more than prose
//! does, and the Snowball stemmer was a tenth of a full index's CPU, most of it on words it
//! had already seen. Each tokenizer instance (tantivy clones the registered one per segment
//! writer) remembers up to [`CACHED_WORDS`] stems, then starts over: the cache never changes
//! a result, only how often the stemmer runs.

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Distinct words remembered at most per tokenizer (a few MB).
const CACHED_WORDS: usize = 100_000;

/// The filter: English Snowball stems, as tantivy's `Stemmer` makes them.
#[derive(Clone, Copy, Debug, Default)]
pub struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            stems: Stems::default(),
        }
    }
}

#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
    stems: Stems,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stems: &mut self.stems,
        }
    }
}

pub struct CachedStemmerStream<'a, T> {
    tail: T,
    stems: &'a mut Stems,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.stems.stem(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Word -> stem, for the words seen lately; `None` when the stem is the word itself (most
/// identifiers), so those cost no second string.
#[derive(Clone)]
struct Stems {
    stemmer: std::sync::Arc<frostem::Stemmer>,
    seen: FxHashMap<Box<str>, Option<Box<str>>>,
}

impl Default for Stems {
    fn default() -> Self {
        Stems {
            stemmer: std::sync::Arc::new(frostem::Stemmer::new(frostem::Algorithm::English)),
            seen: FxHashMap::default(),
        }
    }
}

impl Stems {
    fn stem(&mut self, word: &mut String) {
        if let Some(stem) = self.seen.get(word.as_str()) {
            if let Some(stem) = stem {
                word.clear();
                word.push_str(stem);
            }
            return;
        }
        let stem = match self.stemmer.stem(word) {
            std::borrow::Cow::Borrowed(same) if same.len() == word.len() => None,
            stem => Some(Box::<str>::from(stem.as_ref())),
        };
        if self.seen.len() >= CACHED_WORDS {
            self.seen.clear();
        }
        self.seen.insert(word.as_str().into(), stem.clone());
        if let Some(stem) = stem {
            *word = stem.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{SimpleTokenizer, Stemmer, TextAnalyzer};

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn stems_as_tantivy_does_whether_remembered_or_not() {
        let text = "running runs parsers parsing config configured connections the a \
                    running runs parsers ran happily happily stemmed";
        let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(CachedStemmer)
            .build();
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(tantivy::tokenizer::Language::English))
            .build();
        // Twice: the second pass answers from the cache.
        for _ in 0..2 {
            assert_eq!(tokens(&mut ours, text), tokens(&mut theirs, text));
        }
        assert!(tokens(&mut ours, text).contains(&"run".to_string()));
    }

    #[test]
    fn starting_over_when_full_changes_nothing() {
        let mut stems = Stems::default();
        let stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
        for i in 0..CACHED_WORDS + 10 {
            let original = format!("talk{i}ings");
            let mut word = original.clone();
            stems.stem(&mut word);
            assert_eq!(word, stemmer.stem(&original));
        }
        assert!(stems.seen.len() <= CACHED_WORDS);
        let mut word = "connections".to_string();
        stems.stem(&mut word);
        assert_eq!(word, "connect");
    }
}
