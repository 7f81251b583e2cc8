//! The files users send (docs/media.md): fetched off the webhook's path by `desk-events`
//! into a real S3-compatible server (moto), byte-exact and checked against Meta's sha256;
//! failures retried by the scheduled checks, and never stored as good when they do not
//! match.

mod handler_kit;

use std::time::{Duration, Instant};

use edubot_adapters::model::Message;
use edubot_adapters::time::now_ms;
use edubot_app::checks::run_checks;
use edubot_app::ports::ConversationStore;
use edubot_domain::media::{message_object_key, MediaStatus};
use edubot_e2e::{json_of, now_secs, user_media, Harness, MediaScript, ACCESS_TOKEN};
use handler_kit::{call, error_code, new_wamid, phone, post, post_webhook, user_says};
use http::Method;
use serde_json::json;
use sha2::Digest;

const USER: &str = "447700900321";

/// Bytes that look like nothing in particular, `len` of them.
fn file_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The user sends a `kind` message with the stand-in's file `media_id`; the stream delivers
/// its record to desk-events. Answers the stored message.
async fn user_sends(h: &Harness, kind: &str, file: serde_json::Value) -> Message {
    let payload = user_media(USER, &new_wamid(), now_secs(), kind, file);
    assert_eq!(post_webhook(h, &payload).await, 200);
    let event = h.stream_event_for_unprocessed().await;
    desk_events::handle(&h.ctx, event)
        .await
        .expect("the files fetched or their failures recorded");
    latest_message(h).await
}

async fn message(h: &Harness, id: &str) -> Message {
    h.ctx
        .store
        .get_message(&phone(USER), id)
        .await
        .expect("read")
        .expect("the message")
}

async fn latest_message(h: &Harness) -> Message {
    let messages = h
        .ctx
        .store
        .messages_page(&phone(USER), 10, None, None)
        .await
        .expect("history");
    messages.items.last().cloned().expect("a message")
}

async fn stored_object(h: &Harness, key: &str) -> Option<(Vec<u8>, Option<String>)> {
    let s3 = h.ctx.media().s3();
    let object = s3
        .get_object()
        .bucket(&h.ctx.config.media_bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    let content_type = object.content_type().map(str::to_owned);
    let bytes = object.body.collect().await.ok()?.into_bytes().to_vec();
    Some((bytes, content_type))
}

async fn checks_at(h: &Harness, now: i64) {
    run_checks(&h.ctx, now, Instant::now() + Duration::from_secs(30))
        .await
        .expect("checks");
}

#[tokio::test]
async fn an_inbound_image_is_stored_byte_exact_with_the_bearer_token_only_to_graph() {
    let h = Harness::with_media(&[]).await;
    let photo = file_of(300 * 1024);
    h.graph
        .add_media("5551001", photo.clone(), "image/jpeg", MediaScript::Serve);
    let m = user_sends(
        &h,
        "image",
        json!({"id": "5551001", "mime_type": "image/jpeg", "caption": "my receipt"}),
    )
    .await;

    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Stored, "{media:?}");
    assert_eq!(media.size, Some(photo.len() as u64));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(media.caption.as_deref(), Some("my receipt"));
    let key = message_object_key(&m.phone, &m.id);
    assert_eq!(media.object_key.as_deref(), Some(key.as_str()));
    let (bytes, content_type) = stored_object(&h, &key).await.expect("stored");
    assert!(bytes == photo, "the stored bytes are the user's");
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    let requests = h.graph.media_requests();
    assert_eq!(requests.len(), 2, "one lookup, one download: {requests:?}");
    for (_, authorization) in requests {
        assert_eq!(authorization, Some(format!("Bearer {ACCESS_TOKEN}")));
    }
}

#[tokio::test]
async fn a_document_larger_than_a_part_is_stored_whole_with_its_name() {
    let h = Harness::with_media(&[]).await;
    let pdf = file_of(19 * 1024 * 1024 + 123);
    h.graph.add_media(
        "5551002",
        pdf.clone(),
        "application/pdf",
        MediaScript::Serve,
    );
    let m = user_sends(
        &h,
        "document",
        json!({"id": "5551002", "mime_type": "application/pdf", "filename": "certificate.pdf"}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Stored, "{media:?}");
    assert_eq!(media.filename.as_deref(), Some("certificate.pdf"));
    let (bytes, _) = stored_object(&h, &message_object_key(&m.phone, &m.id))
        .await
        .expect("stored");
    assert_eq!(bytes.len(), pdf.len());
    assert!(bytes == pdf, "the stored bytes are the user's");
}

#[tokio::test]
async fn a_fetch_that_fails_twice_is_retried_by_the_checks_until_stored() {
    let h = Harness::with_media(&[]).await;
    let voice = file_of(20 * 1024);
    h.graph.add_media(
        "5551003",
        voice.clone(),
        "audio/ogg",
        MediaScript::ServerErrors(2),
    );
    let m = user_sends(
        &h,
        "audio",
        json!({"id": "5551003", "mime_type": "audio/ogg", "voice": true}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Pending);
    assert_eq!(media.attempts, 1);
    assert_eq!(
        media.error.as_ref().map(|e| e.code.as_str()),
        Some("http_500")
    );

    // Not due yet: the check leaves it alone.
    checks_at(&h, now_ms()).await;
    assert_eq!(message(&h, &m.id).await.media.unwrap().attempts, 1);
    // Due: the second attempt fails too, the third stores it.
    checks_at(&h, now_ms() + 10 * 60_000).await;
    let media = message(&h, &m.id).await.media.unwrap();
    assert_eq!((media.status, media.attempts), (MediaStatus::Pending, 2));
    checks_at(&h, now_ms() + 30 * 60_000).await;
    let media = message(&h, &m.id).await.media.unwrap();
    assert_eq!((media.status, media.attempts), (MediaStatus::Stored, 3));
    assert_eq!(media.error, None);
    let (bytes, _) = stored_object(&h, &message_object_key(&m.phone, &m.id))
        .await
        .expect("stored");
    assert!(bytes == voice);
    // Off the schedule: a later check fetches nothing more.
    let requests = h.graph.media_requests().len();
    checks_at(&h, now_ms() + 120 * 60_000).await;
    assert_eq!(h.graph.media_requests().len(), requests);
}

#[tokio::test]
async fn bytes_that_do_not_match_metas_checksum_are_never_stored() {
    let h = Harness::with_media(&[]).await;
    let photo = file_of(64 * 1024);
    h.graph.add_media(
        "5551004",
        photo.clone(),
        "image/png",
        MediaScript::WrongBytes(1),
    );
    let m = user_sends(
        &h,
        "image",
        json!({"id": "5551004", "mime_type": "image/png"}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Pending);
    assert_eq!(
        media.error.as_ref().map(|e| e.code.as_str()),
        Some("sha256_mismatch")
    );
    let key = message_object_key(&m.phone, &m.id);
    assert!(stored_object(&h, &key).await.is_none(), "nothing stored");
    checks_at(&h, now_ms() + 10 * 60_000).await;
    assert_eq!(
        message(&h, &m.id).await.media.unwrap().status,
        MediaStatus::Stored
    );
    assert!(stored_object(&h, &key).await.expect("stored").0 == photo);
}

#[tokio::test]
async fn without_a_checksum_in_the_lookup_the_webhooks_is_checked() {
    let h = Harness::with_media(&[]).await;
    h.graph.add_media(
        "5551010",
        file_of(1000),
        "image/jpeg",
        MediaScript::NoChecksumInLookup,
    );
    let someone_elses = hex::encode(sha2::Sha256::digest(b"other bytes"));
    let m = user_sends(
        &h,
        "image",
        json!({"id": "5551010", "mime_type": "image/jpeg", "sha256": someone_elses}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Pending);
    assert_eq!(
        media.error.as_ref().map(|e| e.code.as_str()),
        Some("sha256_mismatch")
    );
    assert!(stored_object(&h, &message_object_key(&m.phone, &m.id))
        .await
        .is_none());
}

#[tokio::test]
async fn a_file_larger_than_whatsapp_allows_fails_at_once_without_a_download() {
    let h = Harness::with_media(&[]).await;
    h.graph.add_media(
        "5551011",
        file_of(10),
        "application/pdf",
        MediaScript::DeclaredSize(300 * 1024 * 1024),
    );
    let m = user_sends(
        &h,
        "document",
        json!({"id": "5551011", "mime_type": "application/pdf"}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Failed);
    assert_eq!(
        media.error.as_ref().map(|e| e.code.as_str()),
        Some("too_large")
    );
    let downloads = h
        .graph
        .media_requests()
        .iter()
        .filter(|(path, _)| path.starts_with("/media-download/"))
        .count();
    assert_eq!(downloads, 0, "nothing downloaded");
}

#[tokio::test]
async fn two_fetchers_at_once_download_a_file_once() {
    let h = Harness::with_media(&[]).await;
    h.graph.add_media(
        "5551012",
        file_of(300 * 1024),
        "image/jpeg",
        MediaScript::Serve,
    );
    let payload = user_media(
        USER,
        &new_wamid(),
        now_secs(),
        "image",
        json!({"id": "5551012", "mime_type": "image/jpeg"}),
    );
    assert_eq!(post_webhook(&h, &payload).await, 200);
    let m = latest_message(&h).await;
    // The stream's fetcher and a scheduled retry, at the same moment.
    let (a, b) = futures_util::future::join(
        edubot_app::media::fetch_media(&h.ctx, &m.phone, &m.id, now_ms()),
        edubot_app::media::fetch_media(&h.ctx, &m.phone, &m.id, now_ms()),
    )
    .await;
    let stored = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|f| matches!(f, edubot_app::media::Fetched::Stored(_)))
        .count();
    assert_eq!(stored, 1);
    let lookups = h
        .graph
        .media_requests()
        .iter()
        .filter(|(path, _)| !path.starts_with("/media-download/"))
        .count();
    assert_eq!(lookups, 1, "one fetcher held the lease");
    assert_eq!(
        message(&h, &m.id).await.media.unwrap().status,
        MediaStatus::Stored
    );
}

#[tokio::test]
async fn a_file_meta_no_longer_has_fails_at_once_and_is_not_retried() {
    let h = Harness::with_media(&[]).await;
    h.graph
        .add_media("5551005", file_of(10), "image/jpeg", MediaScript::Gone);
    let m = user_sends(
        &h,
        "image",
        json!({"id": "5551005", "mime_type": "image/jpeg"}),
    )
    .await;
    let media = m.media.clone().expect("media");
    assert_eq!(media.status, MediaStatus::Failed);
    assert_eq!(media.error.as_ref().map(|e| e.code.as_str()), Some("100"));
    assert!(stored_object(&h, &message_object_key(&m.phone, &m.id))
        .await
        .is_none());
    let requests = h.graph.media_requests().len();
    checks_at(&h, now_ms() + 60 * 60_000).await;
    assert_eq!(
        h.graph.media_requests().len(),
        requests,
        "not fetched again"
    );
}

/// `GET …/messages/{id}/media` as the page calls it.
async fn media_link(h: &Harness, token: Option<&str>, id: &str) -> (u16, serde_json::Value) {
    let path = format!("/api/admin/conversations/{USER}/messages/{id}/media");
    json_of(call(&h.ctx, Method::GET, &path, token, None).await)
}

#[tokio::test]
async fn an_admin_gets_a_short_lived_link_that_serves_the_stored_file() {
    let h = Harness::with_media(&[]).await;
    let token = h.admin_token().await;
    let photo = file_of(40 * 1024);
    h.graph
        .add_media("5551006", photo.clone(), "image/jpeg", MediaScript::Serve);
    let image = user_sends(
        &h,
        "image",
        json!({"id": "5551006", "mime_type": "image/jpeg"}),
    )
    .await;
    let (status, body) = media_link(&h, Some(&token), &image.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mime_type"], "image/jpeg");
    let expires_at = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert!(expires_at - now_ms() <= 5 * 60_000 && expires_at > now_ms());
    let response = reqwest::get(body["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["content-disposition"], "inline");
    assert!(response.bytes().await.unwrap().as_ref() == photo.as_slice());

    // A document downloads under its own name.
    h.graph.add_media(
        "5551007",
        b"%PDF-1.7 timetable".to_vec(),
        "application/pdf",
        MediaScript::Serve,
    );
    let pdf = user_sends(&h, "document", json!({"id": "5551007", "mime_type": "application/pdf", "filename": "Timetable \"Term 2\".pdf"})).await;
    let (status, body) = media_link(&h, Some(&token), &pdf.id).await;
    assert_eq!(status, 200, "{body}");
    let response = reqwest::get(body["url"].as_str().unwrap()).await.unwrap();
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"Timetable Term 2.pdf\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''Timetable%20%22Term%202%22.pdf"),
        "{disposition}"
    );
}

#[tokio::test]
async fn no_link_without_a_stored_file_or_a_token() {
    let h = Harness::with_media(&[]).await;
    let token = h.admin_token().await;
    h.graph.add_media(
        "5551008",
        file_of(10),
        "image/jpeg",
        MediaScript::ServerErrors(1),
    );
    let pending = user_sends(
        &h,
        "image",
        json!({"id": "5551008", "mime_type": "image/jpeg"}),
    )
    .await;
    let (status, body) = media_link(&h, Some(&token), &pending.id).await;
    assert_eq!((status, error_code(&body)), (409, "conflict"), "{body}");
    h.graph
        .add_media("5551009", file_of(10), "image/jpeg", MediaScript::Gone);
    let gone = user_sends(
        &h,
        "image",
        json!({"id": "5551009", "mime_type": "image/jpeg"}),
    )
    .await;
    let (status, body) = media_link(&h, Some(&token), &gone.id).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    user_says(&h, USER, "hello").await;
    let text = latest_message(&h).await;
    let (status, _) = media_link(&h, Some(&token), &text.id).await;
    assert_eq!(status, 404);
    let (status, _) = media_link(&h, Some(&token), "01JUNKNOWNMESSAGEID0000000").await;
    assert_eq!(status, 404);
    let (status, body) = media_link(&h, Some(&token), "not an id").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
    let (status, _) = media_link(&h, None, &pending.id).await;
    assert_eq!(status, 401);
}

// ---- files admins attach ---------------------------------------------------------------

/// The user is in chat support, so an admin may answer.
async fn in_support(h: &Harness) {
    user_says(h, USER, "support").await;
}

/// `POST …/attachments` as the page calls it.
async fn declare(
    h: &Harness,
    token: &str,
    phone: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{phone}/attachments"),
        token,
        Some(&body),
    )
    .await
}

/// PUTs `bytes` to a declared attachment's upload link with its headers, as the page does.
async fn upload(declared: &serde_json::Value, bytes: Vec<u8>) -> u16 {
    let mut put = reqwest::Client::new().put(declared["upload_url"].as_str().unwrap());
    for (name, value) in declared["upload_headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    put.body(bytes).send().await.unwrap().status().as_u16()
}

async fn send_file(h: &Harness, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{USER}/chat-support/send"),
        token,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn an_admin_attaches_a_pdf_that_reaches_whatsapp_byte_exact_by_a_link() {
    let h = Harness::with_media(&[]).await;
    let token = h.admin_token().await;
    in_support(&h).await;
    let pdf = file_of(700 * 1024);
    let (status, declared) = declare(
        &h,
        &token,
        USER,
        json!({
        "filename": "Timetable term 2.pdf", "mime_type": "application/pdf", "size": pdf.len()}),
    )
    .await;
    assert_eq!(status, 201, "{declared}");
    assert_eq!(
        declared["upload_headers"]["Content-Type"],
        "application/pdf"
    );
    assert_eq!(upload(&declared, pdf.clone()).await, 200);

    let (status, sent) = send_file(
        &h,
        &token,
        json!({
        "attachment_id": declared["attachment_id"], "text": "The new timetable"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let message = &sent["message"];
    assert_eq!(message["kind"], "document");
    assert_eq!(message["media"]["status"], "stored");
    assert_eq!(message["media"]["filename"], "Timetable term 2.pdf");
    assert_eq!(message["media"]["caption"], "The new timetable");
    assert_eq!(message["media"]["size"], pdf.len());

    let send = h.graph.sends_to(USER).pop().expect("a send");
    assert_eq!(send.body["type"], "document");
    let document = &send.body["document"];
    assert_eq!(document["filename"], "Timetable term 2.pdf");
    assert_eq!(document["caption"], "The new timetable");
    let link = document["link"].as_str().unwrap();
    let fetched = reqwest::get(link).await.unwrap().bytes().await.unwrap();
    assert!(
        fetched.as_ref() == pdf.as_slice(),
        "WhatsApp downloads the admin's bytes"
    );
    // Kept under the message, as history: the admin's own link serves it too.
    let id = message["id"].as_str().unwrap();
    let (bytes, _) = stored_object(&h, &message_object_key(&phone(USER), id))
        .await
        .expect("kept");
    assert!(bytes == pdf);
    let (status, link) = media_link(&h, Some(&token), id).await;
    assert_eq!(status, 200, "{link}");
    // Sent once: a second click finds it taken, and the user gets one copy.
    let (status, _) = send_file(
        &h,
        &token,
        json!({"attachment_id": declared["attachment_id"]}),
    )
    .await;
    assert_eq!(status, 404);
    let documents = h
        .graph
        .sends_to(USER)
        .into_iter()
        .filter(|s| s.body["type"] == "document")
        .count();
    assert_eq!(documents, 1);
}

#[tokio::test]
async fn a_file_whatsapp_would_refuse_is_refused_before_anything_is_sent() {
    let h = Harness::with_media(&[]).await;
    let token = h.admin_token().await;
    in_support(&h).await;
    for (body, why) in [
        (
            json!({"filename": "a.gif", "mime_type": "image/gif", "size": 10}),
            "type",
        ),
        (
            json!({"filename": "big.jpg", "mime_type": "image/jpeg", "size": 5 * 1024 * 1024 + 1}),
            "5 MB",
        ),
        (
            json!({"filename": "../../etc/passwd", "mime_type": "text/plain", "size": 10}),
            "slashes",
        ),
        (
            json!({"filename": "voice.ogg", "mime_type": "audio/ogg", "size": 10}),
            "Opus",
        ),
        (
            json!({"filename": "x.pdf", "mime_type": "application/pdf"}),
            "size",
        ),
        (
            json!({"filename": "a.png", "mime_type": "image/png; a=\n", "size": 10}),
            "printable",
        ),
    ] {
        let (status, refused) = declare(&h, &token, USER, body.clone()).await;
        assert_eq!(
            (status, error_code(&refused)),
            (400, "invalid_request"),
            "{body}"
        );
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }
    let (status, _) = declare(
        &h,
        &token,
        "447700900999",
        json!({
        "filename": "a.pdf", "mime_type": "application/pdf", "size": 10}),
    )
    .await;
    assert_eq!(status, 404, "no such conversation");

    // Declared small, uploaded too big: the upload is checked before sending.
    let (_, declared) = declare(
        &h,
        &token,
        USER,
        json!({
        "filename": "photo.jpg", "mime_type": "image/jpeg", "size": 1000}),
    )
    .await;
    assert_eq!(upload(&declared, file_of(5 * 1024 * 1024 + 10)).await, 200);
    let (status, refused) = send_file(
        &h,
        &token,
        json!({"attachment_id": declared["attachment_id"]}),
    )
    .await;
    assert_eq!(
        (status, error_code(&refused)),
        (400, "invalid_request"),
        "{refused}"
    );
    // Declared, never uploaded.
    let (_, never) = declare(
        &h,
        &token,
        USER,
        json!({
        "filename": "b.pdf", "mime_type": "application/pdf", "size": 10}),
    )
    .await;
    let (status, refused) =
        send_file(&h, &token, json!({"attachment_id": never["attachment_id"]})).await;
    assert_eq!(
        (status, error_code(&refused)),
        (400, "invalid_request"),
        "{refused}"
    );
    // A caption too long: refused before the conversation is looked up (as a text too
    // long), so even to a number with no conversation.
    let (status, refused) = post(
        &h.ctx,
        "/api/admin/conversations/447700900777/chat-support/send",
        &token,
        Some(&json!({"attachment_id": never["attachment_id"], "text": "x".repeat(1025)})),
    )
    .await;
    assert_eq!(
        (status, error_code(&refused)),
        (400, "invalid_request"),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024"),
        "{refused}"
    );
    // A caption on audio.
    let (_, audio) = declare(
        &h,
        &token,
        USER,
        json!({
        "filename": "note.mp3", "mime_type": "audio/mpeg", "size": 100}),
    )
    .await;
    assert_eq!(upload(&audio, file_of(100)).await, 200);
    let (status, _) = send_file(
        &h,
        &token,
        json!({"attachment_id": audio["attachment_id"], "text": "listen"}),
    )
    .await;
    assert_eq!(status, 400);
    // Another conversation's attachment, and one that never existed.
    user_says(&h, "447700900555", "support").await;
    let (_, theirs) = declare(
        &h,
        &token,
        "447700900555",
        json!({
        "filename": "c.pdf", "mime_type": "application/pdf", "size": 10}),
    )
    .await;
    let (status, _) = send_file(
        &h,
        &token,
        json!({"attachment_id": theirs["attachment_id"]}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send_file(
        &h,
        &token,
        json!({"attachment_id": "01JNOSUCHATTACHMENT0000000"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send_file(&h, &token, json!({})).await;
    assert_eq!(status, 400);

    let file_sends = h
        .graph
        .sends_to(USER)
        .into_iter()
        .filter(|s| s.body["type"] != "text" && s.body["type"] != "interactive")
        .count();
    assert_eq!(file_sends, 0, "nothing was sent");
}
