//! What a bot turn writes beside the conversation: activation codes, admission enquiries
//! and ratings. Like the rest of the store: fixed, small numbers of calls, no Scan, and every
//! write that could race is conditional. The writes of a bot turn go into the turn's one
//! commit transaction as [`RelatedWrite`]s.

use aws_sdk_dynamodb::types::{AttributeValue, Put, Select, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::*;
use crate::enquiry::{Enquiry, EnquiryRequest};
use crate::phone::Phone;
use crate::time::{Millis, DAY, SECOND};
use edubot_domain::activation::{ActivationCode, Student};
use edubot_domain::reports::{rating_event, FigureEvent};

/// Partition of every rating, sorted by time: the dashboard's 7-day average is one Query
/// (one institution rates a few thousand chats a week; shard as `RATINGS#<n>` past that).
const RATINGS: &str = "RATINGS";
/// Ratings are kept this long (the dashboard reads 7 days).
const RATING_TTL: Millis = 90 * DAY;
/// Used or expired codes stay readable this long after their validity, then expire.
const CODE_TTL_AFTER_VALIDITY: Millis = 30 * DAY;
/// Enquiries shown with a conversation, newest first.
pub const ENQUIRIES_SHOWN: i32 = 20;

fn code_pk(code_hash: &str) -> String {
    format!("ACTCODE#{code_hash}")
}
fn enquiry_sk(id: &str) -> String {
    format!("ENQ#{id}")
}

/// `ACTCODE#<sha256 of the code>`: the code itself is never stored.
#[derive(Debug, Serialize, Deserialize)]
struct ActivationCodeItem {
    pk: String,
    sk: String,
    student_name: String,
    course: String,
    created_by: String,
    created_at: Millis,
    valid_until: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    used_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    used_by: Option<String>,
    /// Epoch seconds (DynamoDB TTL).
    expires_at: i64,
}

/// `CONV#<phone>` / `ENQ#<ulid>`: beside the conversation's messages, outside their range.
#[derive(Debug, Serialize, Deserialize)]
struct EnquiryItem {
    pk: String,
    sk: String,
    id: String,
    phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    course_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    course: Option<String>,
    name: String,
    email: String,
    created_at: Millis,
}

/// `RATINGS` / `<created_at>#<phone>#<id>`.
#[derive(Debug, Serialize, Deserialize)]
struct RatingItem {
    pk: String,
    sk: String,
    phone: String,
    rating: u8,
    created_at: Millis,
    expires_at: i64,
}

/// The figure event of a rating item, for the backfill (the holder is not known; the
/// stream counts a new rating from its conversation, with the same key); None for any
/// other item.
pub fn rating_figure_event(item: HashMap<String, AttributeValue>) -> Option<FigureEvent> {
    let rating: RatingItem = from_item(item)
        .ok()
        .filter(|r: &RatingItem| r.pk == RATINGS)?;
    let phone = Phone::parse(&rating.phone)?;
    Some(rating_event(&phone, rating.rating, rating.created_at, None))
}

/// The transaction item of a bot turn's related write.
pub(super) fn related_transact_item(
    write: &RelatedWrite,
    table: &str,
    now: Millis,
) -> TransactWriteItem {
    match write {
        RelatedWrite::Enquiry(e) => {
            let item = EnquiryItem {
                pk: conversation_pk(&e.phone),
                sk: enquiry_sk(&e.id),
                id: e.id.clone(),
                phone: e.phone.to_string(),
                course_id: e.request.course_id.clone(),
                course: e.request.course.clone(),
                name: e.request.name.clone(),
                email: e.request.email.clone(),
                created_at: e.created_at,
            };
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(to_item(&item)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put");
            TransactWriteItem::builder().put(put).build()
        }
        RelatedWrite::RedeemCode { code_hash, phone } => {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key(code_pk(code_hash), SINGLETON_SK.into())))
                .update_expression("SET used_at = :now, used_by = :phone")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(used_at) AND valid_until > :now",
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":phone", s(phone.as_str()))
                .build()
                .expect("update");
            TransactWriteItem::builder().update(update).build()
        }
        RelatedWrite::Rating {
            phone,
            rating,
            id,
            at,
        } => {
            let item = RatingItem {
                pk: RATINGS.into(),
                sk: format!("{at:013}#{phone}#{id}"),
                phone: phone.to_string(),
                rating: *rating,
                created_at: *at,
                expires_at: (at + RATING_TTL) / SECOND,
            };
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(to_item(&item)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put");
            TransactWriteItem::builder().put(put).build()
        }
        RelatedWrite::Audit(entry) => super::team::audit_put(entry, table),
    }
}

/// Every rating given since `since` (one Query on the ratings partition, paged; only the
/// rating is read).
pub(super) async fn ratings_since(store: &Store, since: Millis) -> Result<Vec<u8>, StoreError> {
    let mut ratings = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client
            .query()
            .table_name(&store.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(RATINGS))
            .expression_attribute_values(":since", s(format!("{since:013}")))
            .select(Select::SpecificAttributes)
            .projection_expression("rating")
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        ratings.extend(out.items.unwrap_or_default().iter().filter_map(
            |i| match i.get("rating") {
                Some(AttributeValue::N(r)) => r.parse::<u8>().ok(),
                _ => None,
            },
        ));
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(ratings),
        }
    }
}

impl Store {
    /// The conversation's newest admission enquiries, newest first (one Query).
    pub async fn enquiries(&self, phone: &Phone) -> Result<Vec<Enquiry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :enq)")
            .expression_attribute_values(":pk", s(conversation_pk(phone)))
            .expression_attribute_values(":enq", s("ENQ#"))
            .scan_index_forward(false)
            .limit(ENQUIRIES_SHOWN)
            .send()
            .await
            .map_err(sdk_error)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let i: EnquiryItem = from_item(item)?;
                Ok(Enquiry {
                    phone: Phone::parse(&i.phone)
                        .ok_or_else(|| StoreError::Corrupt("enquiry with a bad phone".into()))?,
                    id: i.id,
                    request: EnquiryRequest {
                        course_id: i.course_id,
                        course: i.course,
                        name: i.name,
                        email: i.email,
                    },
                    created_at: i.created_at,
                })
            })
            .collect()
    }
}

impl ActivationStore for Store {
    /// Stores a new code; false if its hash is taken (never overwrites).
    async fn put_activation_code(&self, code: &ActivationCode) -> Result<bool, StoreError> {
        let item = ActivationCodeItem {
            pk: code_pk(&code.code_hash),
            sk: SINGLETON_SK.into(),
            student_name: code.student.name.clone(),
            course: code.student.course.clone(),
            created_by: code.created_by.clone(),
            created_at: code.created_at,
            valid_until: code.valid_until,
            used_at: code.used_at,
            used_by: None,
            expires_at: (code.valid_until + CODE_TTL_AFTER_VALIDITY) / SECOND,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(super::conditional(result)?.is_some())
    }
    /// The code with this hash, if one was issued (a strongly consistent read).
    async fn get_activation_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<ActivationCode>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(code_pk(code_hash), SINGLETON_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        Ok(item
            .map(from_item::<ActivationCodeItem>)
            .transpose()?
            .map(|i| ActivationCode {
                code_hash: code_hash.to_owned(),
                student: Student {
                    name: i.student_name,
                    course: i.course,
                },
                created_by: i.created_by,
                created_at: i.created_at,
                valid_until: i.valid_until,
                used_at: i.used_at,
            }))
    }
}
