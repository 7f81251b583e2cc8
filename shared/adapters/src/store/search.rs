//! The search index (DESIGN §15): entries per conversation, written in the conversation's
//! own transaction, read with a bounded number of Queries (docs/storage.md).
//!
//! - `SEARCH#N#<first character>` / `<word>#<phone>`, with the name's `words`: one per word
//!   of the name, so a word's prefix is one `begins_with` in one partition;
//! - `SEARCH#P#<first digit>` / `<phone>`: the phone number, written once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::items::*;
use super::*;
use edubot_domain::search::{answering_entry, name_words, Query};

/// Index items one search call reads at most: `SEARCH_PAGE` per Query (only what the page
/// needs and one more where every entry answers), `SEARCH_QUERIES` Queries, then one
/// BatchGetItem of the conversations found.
pub const SEARCH_PAGE: i32 = 100;
pub const SEARCH_QUERIES: usize = 3;

fn first_char(text: &str) -> String {
    text.chars().next().map(String::from).unwrap_or_default()
}
fn name_partition(word: &str) -> String {
    format!("SEARCH#N#{}", first_char(word))
}
fn phone_partition(digits: &str) -> String {
    format!("SEARCH#P#{}", first_char(digits))
}

#[derive(Debug, Serialize, Deserialize)]
struct NameEntry {
    pk: String,
    sk: String,
    phone: String,
    words: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PhoneEntry {
    pk: String,
    sk: String,
    phone: String,
}

/// The search entries of a conversation with this phone and name — its phone's and one
/// per word of the name, each carrying all the words — and those words. What a
/// conversation's write puts; also for loading conversations in bulk.
pub fn search_entries(
    phone: &Phone,
    name: Option<&str>,
) -> (Vec<HashMap<String, AttributeValue>>, Vec<String>) {
    let words = name_words(name.unwrap_or_default());
    let phone = phone.to_string();
    let mut entries = vec![to_item(&PhoneEntry {
        pk: phone_partition(&phone),
        sk: phone.clone(),
        phone: phone.clone(),
    })];
    entries.extend(words.iter().map(|word| {
        to_item(&NameEntry {
            pk: name_partition(word),
            sk: format!("{word}#{phone}"),
            phone: phone.clone(),
            words: words.clone(),
        })
    }));
    (entries, words)
}

/// The writes that bring `c`'s search entries from what it holds (`indexed_words`) to its
/// name's words, and those words (to store with the conversation). None when nothing
/// changed.
pub(super) fn index_writes(
    c: &Conversation,
    table: &str,
) -> Option<(Vec<TransactWriteItem>, Vec<String>)> {
    let (entries, wanted) = search_entries(&c.phone, c.name.as_deref());
    if c.indexed_words.as_ref() == Some(&wanted) {
        return None;
    }
    let put = |item: HashMap<String, AttributeValue>| {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .build()
            .expect("put");
        TransactWriteItem::builder().put(put).build()
    };
    let phone = c.phone.to_string();
    let mut writes = Vec::new();
    for gone in c
        .indexed_words
        .iter()
        .flatten()
        .filter(|w| !wanted.contains(w))
    {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key(name_partition(gone), format!("{gone}#{phone}"))))
            .build()
            .expect("delete");
        writes.push(TransactWriteItem::builder().delete(delete).build());
    }
    // The phone's entry once; every name entry again, as each carries the whole name.
    let skip_phone = usize::from(c.indexed_words.is_some());
    writes.extend(entries.into_iter().skip(skip_phone).map(put));
    Some((writes, wanted))
}

/// A search's cursor is the sort key of the last index entry it read, which must lie in
/// the range the query reads.
fn start_key(
    partition: &str,
    prefix: &str,
    cursor: Option<&str>,
) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    match cursor {
        None => Ok(None),
        Some(sk) if sk.starts_with(prefix) && sk.len() <= 200 => {
            Ok(Some(key(partition.to_owned(), sk.to_owned())))
        }
        Some(_) => Err(StoreError::InvalidCursor),
    }
}

impl Store {
    /// Conversations `query` finds, each once, in index order (see the module's doc).
    pub(super) async fn search(
        &self,
        query: &Query,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        let (partition, prefix) = match query {
            Query::Digits(digits) => (phone_partition(digits), digits.clone()),
            Query::Words(words) => {
                let leading = Query::leading_word(words);
                (name_partition(leading), leading.to_owned())
            }
        };
        let mut start = start_key(&partition, &prefix, cursor)?;
        let wanted = limit.max(1) as usize;
        // Digits or one word: every entry read answers (bar a second word of one name with
        // the same start), so a Query reads what the page still needs and one more, to know
        // whether a next page exists. Several words answer only some: whole reads.
        let every_entry_answers = match query {
            Query::Digits(_) => true,
            Query::Words(words) => words.len() == 1,
        };
        let mut found: Vec<(String, String)> = Vec::new(); // (phone, entry's sort key)
        let mut next_cursor = None;
        'reading: for _ in 0..SEARCH_QUERIES {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p AND begins_with(sk, :prefix)")
                .expression_attribute_values(":p", s(partition.clone()))
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .limit(if every_entry_answers {
                    SEARCH_PAGE.min((wanted + 1 - found.len()) as i32)
                } else {
                    SEARCH_PAGE
                })
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                let (phone, sk) = match query {
                    Query::Digits(_) => {
                        let entry: PhoneEntry = from_item(item)?;
                        (entry.phone, entry.sk)
                    }
                    Query::Words(words) => {
                        let entry: NameEntry = from_item(item)?;
                        let word = entry.sk.rsplit_once('#').map_or("", |(w, _)| w);
                        if !answering_entry(word, &prefix, words, &entry.words) {
                            continue;
                        }
                        (entry.phone, entry.sk)
                    }
                };
                if found.len() == wanted {
                    // One answer more than the page holds: the next page starts after the
                    // page's last.
                    next_cursor = found.last().map(|(_, sk)| sk.clone());
                    break 'reading;
                }
                found.push((phone, sk));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => {
                    // Out of reads here, the next page goes on after the last entry read.
                    next_cursor = k.get("sk").and_then(|v| v.as_s().ok()).cloned();
                    start = Some(k);
                }
                _ => {
                    next_cursor = None;
                    break;
                }
            }
        }
        let items = self
            .conversations_by_phone(found.iter().map(|(phone, _)| phone.as_str()))
            .await?;
        Ok(Page { items, next_cursor })
    }

    /// The conversations of these phones, in the same order (one BatchGetItem per 100;
    /// a search page holds at most 100). Phones without a conversation are left out.
    async fn conversations_by_phone<'a>(
        &self,
        phones: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<Conversation>, StoreError> {
        let phones: Vec<&str> = phones.collect();
        let mut by_phone: HashMap<String, Conversation> = HashMap::new();
        for chunk in phones.chunks(100) {
            let mut keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|p| key(format!("{CONVERSATION_PK_PREFIX}{p}"), META_SK.into()))
                .collect();
            // Unprocessed keys (throttling) are asked again: a bounded few rounds.
            for _ in 0..5 {
                if keys.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .build()
                    .expect("keys");
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    let c = from_item::<ConversationItem>(item)?
                        .into_conversation()
                        .ok_or_else(|| {
                            StoreError::Corrupt("conversation with a bad phone".into())
                        })?;
                    by_phone.insert(c.phone.to_string(), c);
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(StoreError::Unavailable(
                    "conversations still unread after five rounds".into(),
                ));
            }
        }
        Ok(phones.iter().filter_map(|p| by_phone.remove(*p)).collect())
    }
}
