//! Finding a conversation by what an admin remembers of it (DESIGN §15): the start of the
//! phone number, or the start of words of the user's name, whatever the case and accents.
//! The storage adapter keeps an index of each conversation's [`name_words`] and phone and
//! asks these rules which index entries answer a query.

use unicode_normalization::UnicodeNormalization;

/// A name is indexed by at most this many words, each cut to this many characters: a
/// conversation's index entries are a bounded part of its transaction.
pub const MAX_NAME_WORDS: usize = 8;
pub const MAX_WORD_CHARS: usize = 32;
/// Longer queries are refused.
pub const MAX_QUERY_CHARS: usize = 100;

/// Lower case, accents removed (`Émilie` → `emilie`): canonical decomposition, then the
/// combining marks dropped; letters without a decomposition (ß, ø) stay as they are.
fn fold(word: &str) -> String {
    word.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a text, folded: split on anything that is not a letter or digit.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| fold(w).chars().take(MAX_WORD_CHARS).collect())
        .collect()
}

/// The words a name is found by: folded, each once, sorted, at most [`MAX_NAME_WORDS`].
pub fn name_words(name: &str) -> Vec<String> {
    let mut all = words(name);
    all.truncate(MAX_NAME_WORDS);
    all.sort();
    all.dedup();
    all
}

/// A search as the index answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// The start of a phone number, digits only.
    Digits(String),
    /// Starts of name words, folded; each must match a different word of the name.
    Words(Vec<String>),
}

impl Query {
    /// The query `q` asks; None when nothing searchable is left or it is too long.
    pub fn parse(q: &str) -> Option<Query> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return None;
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let only_number = q
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c));
        if only_number && !digits.is_empty() {
            return Some(Query::Digits(digits));
        }
        let mut query_words = words(q);
        query_words.truncate(MAX_NAME_WORDS);
        (!query_words.is_empty()).then_some(Query::Words(query_words))
    }

    /// The word the index is read by: the longest (the most selective), first on a tie.
    pub fn leading_word(words: &[String]) -> &str {
        words
            .iter()
            .fold(None::<&String>, |best, w| match best {
                Some(b) if b.chars().count() >= w.chars().count() => Some(b),
                _ => Some(w),
            })
            .map_or("", String::as_str)
    }
}

/// Whether every query word starts a different one of `name` (both folded): a matching
/// found by trying each query word on each unused name word (both lists are short).
pub fn words_match(query: &[String], name: &[String]) -> bool {
    fn assign(query: &[String], name: &[String], used: &mut Vec<bool>) -> bool {
        let Some((first, rest)) = query.split_first() else {
            return true;
        };
        for (i, word) in name.iter().enumerate() {
            if !used[i] && word.starts_with(first.as_str()) {
                used[i] = true;
                if assign(rest, name, used) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    query.len() <= name.len() && assign(query, name, &mut vec![false; name.len()])
}

/// Whether the index entry of `entry_word` answers a query led by `leading`: it matches,
/// and it is the first of the name's words (in index order) that starts with `leading`,
/// so a conversation whose name has two such words is found once, not twice.
pub fn answering_entry(entry_word: &str, leading: &str, query: &[String], name: &[String]) -> bool {
    entry_word.starts_with(leading)
        && name
            .iter()
            .find(|w| w.starts_with(leading))
            .map(String::as_str)
            == Some(entry_word)
        && words_match(query, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_found_by_folded_words_whatever_their_case_and_accents() {
        assert_eq!(
            name_words("Émilie  DUPONT-Lévêque"),
            w(&["dupont", "emilie", "leveque"])
        );
        assert_eq!(name_words("José José"), w(&["jose"]));
        assert_eq!(name_words("🎓 Ana"), w(&["ana"]));
        assert_eq!(name_words("李 小龙"), w(&["小龙", "李"]));
        assert!(name_words("").is_empty());
        assert_eq!(name_words("a b c d e f g h i j").len(), MAX_NAME_WORDS);
    }

    #[test]
    fn a_query_is_a_number_or_words() {
        assert_eq!(
            Query::parse("+44 7700-900"),
            Some(Query::Digits("447700900".into()))
        );
        assert_eq!(Query::parse("  Ém "), Some(Query::Words(w(&["em"]))));
        assert_eq!(Query::parse("ann 2"), Some(Query::Words(w(&["ann", "2"]))));
        assert_eq!(Query::parse("   "), None);
        assert_eq!(Query::parse("+-"), None);
        assert_eq!(Query::parse(&"a".repeat(MAX_QUERY_CHARS + 1)), None);
    }

    #[test]
    fn every_query_word_must_start_a_different_name_word() {
        let name = name_words("Ann Annabel Smith");
        assert!(words_match(&w(&["ann", "ann"]), &name));
        assert!(words_match(&w(&["sm", "an"]), &name));
        assert!(!words_match(&w(&["ann", "ann", "ann"]), &name));
        assert!(!words_match(&w(&["nn"]), &name), "only the start of a word");
        let name = name_words("Anna");
        assert!(
            !words_match(&w(&["ann", "a"]), &name),
            "two query words, one name word"
        );
    }

    #[test]
    fn a_conversation_answers_once_whatever_number_of_its_words_match() {
        let name = name_words("Ann Annabel Smith");
        let query = w(&["ann"]);
        let answering: Vec<&String> = name
            .iter()
            .filter(|entry| answering_entry(entry, "ann", &query, &name))
            .collect();
        assert_eq!(answering, [&"ann".to_string()]);
    }

    #[test]
    fn the_longest_query_word_leads() {
        assert_eq!(Query::leading_word(&w(&["an", "smith", "jo"])), "smith");
        assert_eq!(Query::leading_word(&w(&["ab", "cd"])), "ab");
    }

    proptest! {
        #[test]
        fn a_name_is_always_found_by_the_start_of_each_of_its_words(
            name in "[A-Za-zÀ-ÿ ]{1,40}", cut in 1usize..5
        ) {
            let words = name_words(&name);
            for word in &words {
                let prefix: String = word.chars().take(cut).collect();
                let query = w(&[prefix.as_str()]);
                let answering = words
                    .iter()
                    .filter(|e| answering_entry(e, &prefix, &query, &words))
                    .count();
                prop_assert_eq!(answering, 1, "{:?} by {:?}", name, prefix);
            }
        }
    }
}
