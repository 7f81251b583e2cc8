//! The admin API handlers (login, list-conversations, get-messages, send-message, end-chat,
//! dashboard) against DynamoDB Local and the Graph API stand-in (docs/architecture.md, docs/decisions.md).
//! Conversations are put into their states through the real webhook and processor.

mod handler_kit;

use std::time::Duration;

use edubot_adapters::content::content;
use edubot_adapters::model::{Author, ConversationState, MessageStatus};
use edubot_adapters::time::{now_ms, rfc3339, HOUR};
use edubot_app::auth::TokenService;
use edubot_app::ports::AdminStore;
use edubot_e2e::*;
use handler_kit::*;
use http::Method;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

const ADA: &str = "447700900123";
const BOB: &str = "447700900456";
const UNKNOWN: &str = "447700900999";

async fn login(h: &Harness, body: &[u8]) -> Response<Body> {
    call_with_headers(
        &h.ctx,
        Method::POST,
        "/api/admin/login",
        &[("content-type", "application/json")],
        body,
    )
    .await
}

async fn login_as(h: &Harness, username: &str, password: &str) -> Response<Body> {
    login(
        h,
        json!({ "username": username, "password": password })
            .to_string()
            .as_bytes(),
    )
    .await
}

/// A conversation in chat support (the user asked for a person just now).
async fn in_support(h: &Harness, raw_phone: &str) {
    user_says(h, raw_phone, "support").await;
    assert_eq!(
        conversation(h, raw_phone).await.unwrap().state,
        ConversationState::ChatSupportActive
    );
}

fn conversation_phones(body: &Value) -> Vec<String> {
    body["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect()
}

// ---- login ---------------------------------------------------------------------------------

#[tokio::test]
async fn login_returns_a_working_token_and_its_expiry() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    let (status, body) = json_of(login_as(&h, ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token");
    assert!(
        is_rfc3339_millis(&body["expires_at"]),
        "{}",
        body["expires_at"]
    );
    let claims = h.ctx.tokens().verify(token).expect("a valid token");
    assert_eq!(claims.sub, ADMIN);
    assert_eq!(
        &rfc3339(claims.exp * 1000)[..19],
        &body["expires_at"].as_str().unwrap()[..19]
    );
    let hours_left = (claims.exp * 1000 - now_ms()) as f64 / HOUR as f64;
    assert!(
        (0.5..=24.0).contains(&hours_left),
        "expires in hours, not days: {hours_left}"
    );

    let (status, _) = get(&h.ctx, "/api/admin/dashboard", token).await;
    assert_eq!(status, 200);

    // Usernames are case-insensitive.
    let (status, _) = json_of(login_as(&h, "Admin", ADMIN_PASSWORD).await);
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    let (status, wrong_password) = json_of(login_as(&h, ADMIN, "not the password").await);
    assert_eq!(status, 401);
    assert_eq!(error_code(&wrong_password), "unauthorized");
    let (status, unknown_user) = json_of(login_as(&h, "nobody", ADMIN_PASSWORD).await);
    assert_eq!(status, 401);
    assert_eq!(
        unknown_user, wrong_password,
        "no hint whether the user exists"
    );

    // A disabled admin cannot sign in either, with the same answer.
    assert!(edubot_e2e::set_admin_disabled(&h.ctx.store, ADMIN, true).await);
    let (status, disabled) = json_of(login_as(&h, ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 401);
    assert_eq!(disabled, wrong_password);
}

#[tokio::test]
async fn five_failures_for_a_username_lock_it_with_retry_after() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    h.create_admin("jane", "jane's own password").await;
    for attempt in 1..=5 {
        let (status, _) = json_of(login_as(&h, ADMIN, &format!("guess {attempt}")).await);
        assert_eq!(status, 401, "attempt {attempt}");
    }
    // Locked now, even with the right password.
    let response = login_as(&h, ADMIN, ADMIN_PASSWORD).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    let (status, body) = json_of(response);
    assert_eq!(status, 429);
    assert_eq!(error_code(&body), "rate_limited");
    assert!(body.get("token").is_none());

    // Another admin from the same address is not locked out by it.
    let (status, _) = json_of(login_as(&h, "jane", "jane's own password").await);
    assert_eq!(status, 200);
}

/// A sign-in from this address, as CloudFront passes it on.
async fn login_from(h: &Harness, address: &str, username: &str, password: &str) -> Response<Body> {
    let viewer = format!("{address}:40000");
    call_with_headers(
        &h.ctx,
        Method::POST,
        "/api/admin/login",
        &[
            ("content-type", "application/json"),
            ("x-origin-verify", "origin-secret"),
            ("cloudfront-viewer-address", &viewer),
        ],
        json!({ "username": username, "password": password })
            .to_string()
            .as_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_stranger_failing_on_purpose_never_locks_the_real_admin_out() {
    let h = handler_kit::harness_with(&[("ORIGIN_VERIFY_SECRET", "origin-secret")]).await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    for attempt in 1..=12 {
        let response = login_from(&h, "198.51.100.66", ADMIN, &format!("guess {attempt}")).await;
        let (status, _) = json_of(response);
        assert!(
            status == 401 || status == 429,
            "attempt {attempt}: {status}"
        );
    }
    let (status, _) = json_of(login_from(&h, "198.51.100.66", ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 429, "the guesser's own address is held back");
    let (status, body) = json_of(login_from(&h, "192.0.2.10", ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 200, "the admin from elsewhere signs in: {body}");
    // Signing in again and again from one place never counts against it.
    for _ in 0..8 {
        let (status, _) = json_of(login_from(&h, "192.0.2.10", ADMIN, ADMIN_PASSWORD).await);
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn guessers_spread_over_many_addresses_slow_the_admin_down_but_never_keep_it_out() {
    let h = handler_kit::harness_with(&[("ORIGIN_VERIFY_SECRET", "origin-secret")]).await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    // Two wrong guesses from each of 8 addresses: no address reaches its own limit, but
    // the username is past the slow-down threshold.
    for source in 0..8 {
        for guess in 0..2 {
            let address = format!("198.51.100.{}", 100 + source);
            let password = format!("guess {source}.{guess}");
            let (status, _) = json_of(login_from(&h, &address, ADMIN, &password).await);
            assert_eq!(status, 401, "{address} guess {guess}");
        }
    }
    let attempts = 8 * 2 + 1;
    let expected = edubot_app::desk::login_slowdown(attempts);
    assert!(expected > 0, "the test should reach the slow-down");
    let started = std::time::Instant::now();
    let (status, body) = json_of(login_from(&h, "192.0.2.10", ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 200, "the real admin still signs in: {body}");
    // A lower bound only (a sleep never ends early): the answer was held back.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(expected as u64),
        "answered after {:?}, slow-down {expected} ms",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_checks_than_the_same_guesses_in_a_row() {
    let h = handler_kit::harness_with(&[("ORIGIN_VERIFY_SECRET", "origin-secret")]).await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    let guesses = (0..20).map(|i| {
        let h = &h;
        async move {
            let password = format!("parallel guess {i}");
            json_of(login_from(h, "198.51.100.77", ADMIN, &password).await).0
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let held_back = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, held_back),
        (
            edubot_app::desk::LOGIN_ATTEMPTS_PER_USER_AND_SOURCE as usize,
            15
        ),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn login_refuses_malformed_and_oversized_bodies() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    for body in [
        &b"{not json"[..],
        b"",
        b"[]",
        b"{\"username\":\"admin\"}",
        b"{\"username\":\"\",\"password\":\"x\"}",
        b"{\"username\":1,\"password\":2}",
    ] {
        let (status, json) = json_of(login(&h, body).await);
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(error_code(&json), "invalid_request");
    }
    // The account's limit is 1024 characters, not bytes: such a password signs in; one
    // character more is refused before any work.
    let longest = "é".repeat(1024);
    h.create_admin("longest", &longest).await;
    let (status, json) = json_of(login_as(&h, "longest", &longest).await);
    assert_eq!(status, 200, "{json}");
    let (status, json) = json_of(login_as(&h, "longest", &format!("{longest}é")).await);
    assert_eq!(
        (status, error_code(&json)),
        (400, "invalid_request"),
        "{json}"
    );
    let big = json!({ "username": ADMIN, "password": "p".repeat(65 * 1024) }).to_string();
    let (status, json) = json_of(login(&h, big.as_bytes()).await);
    assert_eq!(status, 413);
    assert_eq!(error_code(&json), "too_large");
    assert!(json["error"]["message"].is_string());
}

/// A refused body is named in a message for a person: the field at fault, never the
/// parser's own words (which can quote what was sent).
#[tokio::test]
async fn a_refused_body_names_the_field_and_never_quotes_the_parser() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    for (body, expected) in [
        (&b"{not json"[..], "The body is not valid JSON."),
        (
            b"{\"username\":\"admin\",\"password\":\"x\"} trailing",
            "The body is not valid JSON.",
        ),
        (
            b"[]",
            "The body must be a JSON object with the fields this request takes.",
        ),
        (
            b"[null,null]",
            "The body must be a JSON object with the fields this request takes.",
        ),
        (
            b"{\"username\":\"admin\"}",
            "The field `password` is required.",
        ),
        (
            b"{\"username\":5,\"password\":\"secret-ish\"}",
            "The field `username` has a value of the wrong type or form.",
        ),
    ] {
        let (status, json) = json_of(login(&h, body).await);
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(message, expected, "{}", String::from_utf8_lossy(body));
        for parser_words in ["line", "column", "invalid type", "expected", "secret-ish"] {
            assert!(!message.contains(parser_words), "{message}");
        }
    }
}

/// A name no account can have (here, too long for a key) gets the same 401 as a wrong
/// password, before anything is read.
#[tokio::test]
async fn an_impossible_username_is_a_401_not_a_storage_error() {
    let h = Harness::new().await;
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    for username in ["a".repeat(2048), "Admin#1".into(), "a\u{0}b".into()] {
        let (status, json) = json_of(login_as(&h, &username, "whatever it is").await);
        assert_eq!(status, 401, "{json}");
        assert_eq!(error_code(&json), "unauthorized");
    }
}

// ---- authentication of every protected route -------------------------------------------

fn protected_routes() -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/admin/conversations".into(), None),
        (
            Method::GET,
            format!("/api/admin/conversations/{ADA}/messages"),
            None,
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/chat-support/send"),
            Some(json!({"text": "hi"})),
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/chat-support/end"),
            None,
        ),
        (Method::GET, "/api/admin/dashboard".into(), None),
        (Method::GET, "/api/admin/templates".into(), None),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/template"),
            Some(json!({"name": "welcome_back", "language": "en_US"})),
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/read"),
            None,
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/typing"),
            None,
        ),
        (
            Method::POST,
            "/api/admin/activation-codes".into(),
            Some(json!({"student_name": "Jane Doe", "course": "Web Development"})),
        ),
        (Method::GET, "/api/admin/admins".into(), None),
        (
            Method::POST,
            "/api/admin/admins".into(),
            Some(json!({"username": "newbie", "password": "a long password", "role": "admin"})),
        ),
        (
            Method::POST,
            "/api/admin/admins/newbie/disable".into(),
            None,
        ),
        (Method::POST, "/api/admin/admins/newbie/enable".into(), None),
        (
            Method::POST,
            "/api/admin/admins/newbie/password".into(),
            Some(json!({"password": "a long password"})),
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/assign"),
            Some(json!({"admin": ADMIN})),
        ),
        (
            Method::POST,
            format!("/api/admin/conversations/{ADA}/notes"),
            Some(json!({"text": "a note"})),
        ),
        (Method::GET, "/api/admin/canned-replies".into(), None),
        (
            Method::POST,
            "/api/admin/canned-replies".into(),
            Some(json!({"shortcut": "hi", "text": "Hello!"})),
        ),
        (Method::DELETE, "/api/admin/canned-replies/hi".into(), None),
        (Method::GET, "/api/admin/audit".into(), None),
    ]
}

/// Every protected route answers `status` with `code` to this Authorization header, and
/// nothing is sent or changed.
async fn assert_every_route_refuses(
    h: &Harness,
    authorization: Option<&str>,
    status: u16,
    code: &str,
    what: &str,
) {
    let sends = h.graph.sends().len();
    let stored = history(h, ADA).await.len();
    for (method, path, body) in protected_routes() {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = authorization {
            headers.push(("authorization", a));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (got, json) = json_of(
            call_with_headers(&h.ctx, method.clone(), &path, &headers, body.as_bytes()).await,
        );
        assert_eq!(got, status, "{what}: {method} {path}: {json}");
        assert_eq!(error_code(&json), code, "{what}: {method} {path}");
    }
    assert_eq!(h.graph.sends().len(), sends, "{what}: nothing sent");
    assert_eq!(
        history(h, ADA).await.len(),
        stored,
        "{what}: nothing stored"
    );
    assert!(
        conversation(h, ADA).await.unwrap().is_chat_support(),
        "{what}: chat not ended"
    );
}

/// A harness with an admin and Ada waiting in chat support.
async fn desk() -> (Harness, String) {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    in_support(&h, ADA).await;
    (h, token)
}

#[tokio::test]
async fn protected_routes_need_a_bearer_token() {
    let (h, token) = desk().await;
    let basic = format!("Basic {token}");
    for (authorization, what) in [
        (None, "no header"),
        (Some(""), "empty header"),
        (Some("Bearer"), "no token"),
        (Some("Bearer "), "empty token"),
        (Some(token.as_str()), "no scheme"),
        (Some(basic.as_str()), "Basic scheme"),
        (Some("Bearer not.a.jwt"), "garbage"),
    ] {
        assert_every_route_refuses(&h, authorization, 401, "unauthorized", what).await;
    }
}

#[tokio::test]
async fn protected_routes_refuse_tampered_tokens() {
    let (h, token) = desk().await;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let forged_payload = base64url(admin_claims("root").to_string().as_bytes());
    let other_subject = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let mut sig: Vec<char> = parts[2].chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        sig.into_iter().collect::<String>()
    );
    let truncated = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() - 4]
    );
    let hs512 = format!(
        "{}.{}.{}",
        base64url(br#"{"alg":"HS512","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    let other_secret = hs256_token(
        &admin_claims(ADMIN),
        b"another-secret-of-at-least-32-bytes!!",
    );
    for (bad, what) in [
        (other_subject, "payload changed"),
        (flipped, "signature changed"),
        (truncated, "signature truncated"),
        (hs512, "algorithm changed"),
        (other_secret, "signed with another secret"),
    ] {
        assert_every_route_refuses(
            &h,
            Some(&format!("Bearer {bad}")),
            401,
            "unauthorized",
            what,
        )
        .await;
    }
}

#[tokio::test]
async fn protected_routes_refuse_expired_tokens() {
    let (h, _) = desk().await;
    let issuer = TokenService::with_secret(JWT_SECRET.as_bytes(), HOUR);
    let (expired, expires_at) =
        issuer.issue(ADMIN, edubot_e2e::Role::Supervisor, 0, now_ms() - 2 * HOUR);
    assert!(expires_at < now_ms());
    assert_every_route_refuses(
        &h,
        Some(&format!("Bearer {expired}")),
        401,
        "unauthorized",
        "expired an hour ago",
    )
    .await;
    let mut claims = admin_claims(ADMIN);
    claims["exp"] = json!(now_secs() - 60);
    let just_expired = hs256_token(&claims, JWT_SECRET.as_bytes());
    assert_every_route_refuses(
        &h,
        Some(&format!("Bearer {just_expired}")),
        401,
        "unauthorized",
        "expired a minute ago",
    )
    .await;
}

#[tokio::test]
async fn protected_routes_refuse_alg_none_tokens() {
    let (h, token) = desk().await;
    let payload = token.split('.').nth(1).unwrap().to_owned();
    let signature = token.split('.').nth(2).unwrap().to_owned();
    let none = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    for bad in [
        format!("{none}.{payload}."),
        format!("{none}.{payload}"),
        format!("{none}.{payload}.{signature}"),
    ] {
        assert_every_route_refuses(
            &h,
            Some(&format!("Bearer {bad}")),
            401,
            "unauthorized",
            &bad,
        )
        .await;
    }
}

#[tokio::test]
async fn protected_routes_check_issuer_audience_expiry_and_role() {
    let (h, _) = desk().await;
    // The forging helper makes tokens the service accepts: the refusals below are the claims'.
    let good = hs256_token(&admin_claims(ADMIN), JWT_SECRET.as_bytes());
    assert_eq!(get(&h.ctx, "/api/admin/dashboard", &good).await.0, 200);

    let mut wrong_issuer = admin_claims(ADMIN);
    wrong_issuer["iss"] = "someone-else".into();
    let mut wrong_audience = admin_claims(ADMIN);
    wrong_audience["aud"] = "another-app".into();
    let mut no_expiry = admin_claims(ADMIN);
    no_expiry.as_object_mut().unwrap().remove("exp");
    let unknown_admin = admin_claims("ghost");
    for (claims, what) in [
        (wrong_issuer, "wrong issuer"),
        (wrong_audience, "wrong audience"),
        (no_expiry, "no expiry"),
        (unknown_admin, "no such admin"),
    ] {
        let forged = hs256_token(&claims, JWT_SECRET.as_bytes());
        assert_every_route_refuses(
            &h,
            Some(&format!("Bearer {forged}")),
            401,
            "unauthorized",
            what,
        )
        .await;
    }

    let mut viewer = admin_claims(ADMIN);
    viewer["role"] = "viewer".into();
    let viewer = hs256_token(&viewer, JWT_SECRET.as_bytes());
    assert_every_route_refuses(
        &h,
        Some(&format!("Bearer {viewer}")),
        403,
        "forbidden",
        "another role",
    )
    .await;
}

#[tokio::test]
async fn a_disabled_admins_token_is_refused_by_a_fresh_context() {
    let (h, token) = desk().await;
    assert_eq!(get(&h.ctx, "/api/admin/dashboard", &token).await.0, 200);
    assert!(edubot_e2e::set_admin_disabled(&h.ctx.store, ADMIN, true).await);
    let cold = h.cold_context();
    for (method, path, body) in protected_routes() {
        let (status, json) =
            json_of(call(&cold, method.clone(), &path, Some(&token), body.as_ref()).await);
        assert_eq!(status, 401, "{method} {path}");
        assert_eq!(error_code(&json), "unauthorized");
    }
    assert!(conversation(&h, ADA).await.unwrap().is_chat_support());

    // Enabled again, the old token stays ended; a new sign-in works.
    assert!(edubot_e2e::set_admin_disabled(&h.ctx.store, ADMIN, false).await);
    assert_eq!(
        get(&h.cold_context(), "/api/admin/dashboard", &token)
            .await
            .0,
        401
    );
    let (status, body) = json_of(login_as(&h, ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 200, "{body}");
    let fresh = body["token"].as_str().unwrap();
    assert_eq!(
        get(&h.cold_context(), "/api/admin/dashboard", fresh)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_password_change_ends_the_tokens_issued_before_it() {
    let (h, _) = desk().await;
    let (status, body) = json_of(login_as(&h, ADMIN, ADMIN_PASSWORD).await);
    assert_eq!(status, 200);
    let before = body["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&h.ctx, "/api/admin/dashboard", &before).await.0, 200);

    // As `edubot-admin create` (or the local stack's ADMIN_PASSWORD) sets a password.
    let existing = h.ctx.store.get_admin(ADMIN).await.unwrap();
    let changed = edubot_app::auth::admin_with_password(
        existing,
        ADMIN,
        "a brand new password 42",
        edubot_e2e::Role::Supervisor,
    );
    h.ctx.store.put_admin(&changed).await.unwrap();

    let cold = h.cold_context();
    assert_eq!(get(&cold, "/api/admin/dashboard", &before).await.0, 401);
    let (status, body) = json_of(login_as(&h, ADMIN, "a brand new password 42").await);
    assert_eq!(status, 200, "{body}");
    let after = body["token"].as_str().unwrap();
    assert_eq!(get(&cold, "/api/admin/dashboard", after).await.0, 200);
}

#[tokio::test]
async fn a_valid_token_reaches_every_route() {
    let (h, token) = desk().await;
    for (method, path, body) in protected_routes() {
        let (status, json) =
            json_of(call(&h.ctx, method.clone(), &path, Some(&token), body.as_ref()).await);
        assert!(
            [200, 201, 204].contains(&status),
            "{method} {path}: {status} {json}"
        );
    }
}

// ---- list-conversations ----------------------------------------------------------------

/// Five conversations, created in order; the first two then enter chat support.
async fn five_conversations(h: &Harness) -> Vec<String> {
    let phones: Vec<String> = (1..=5).map(|i| format!("4477009000{i:02}")).collect();
    for p in &phones {
        user_says(h, p, "hello").await;
    }
    in_support(h, &phones[0]).await;
    in_support(h, &phones[1]).await;
    phones
}

#[tokio::test]
async fn conversations_are_listed_most_recent_first() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let p = five_conversations(&h).await;
    let (status, body) = get(&h.ctx, "/api/admin/conversations", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        conversation_phones(&body),
        [
            p[1].clone(),
            p[0].clone(),
            p[4].clone(),
            p[3].clone(),
            p[2].clone()
        ]
    );
    assert!(body["next_cursor"].is_null());

    let first = &body["conversations"][0];
    for field in [
        "phone",
        "name",
        "state",
        "is_chat_support",
        "support_started_at",
        "waiting_since",
        "last_message_at",
        "last_message_preview",
        "unread_count",
        "window_expires_at",
    ] {
        assert!(
            first.get(field).is_some(),
            "conversation has {field}: {first}"
        );
    }
    assert_eq!(first["name"], "Ada Student");
    assert_eq!(first["state"], "CHAT_SUPPORT_ACTIVE");
    assert_eq!(first["is_chat_support"], true);
    assert_eq!(first["unread_count"], 1);
    for field in [
        "support_started_at",
        "waiting_since",
        "last_message_at",
        "window_expires_at",
    ] {
        assert!(
            is_rfc3339_millis(&first[field]),
            "{field}: {}",
            first[field]
        );
    }
    let c = conversation(&h, &p[1]).await.unwrap();
    assert_eq!(
        first["window_expires_at"],
        rfc3339(c.last_inbound_sent_at.unwrap() + 24 * HOUR)
    );
    let third = &body["conversations"][2];
    assert_eq!(
        (third["state"].as_str(), third["is_chat_support"].as_bool()),
        (Some("MAIN_MENU"), Some(false))
    );
    assert!(third["support_started_at"].is_null() && third["waiting_since"].is_null());

    // New activity moves a conversation to the top.
    user_says(&h, &p[2], "menu").await;
    let (_, body) = get(&h.ctx, "/api/admin/conversations", &token).await;
    assert_eq!(conversation_phones(&body)[0], p[2]);
}

#[tokio::test]
async fn the_support_filter_lists_only_conversations_in_chat_support() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let p = five_conversations(&h).await;
    let (status, body) = get(&h.ctx, "/api/admin/conversations?filter=support", &token).await;
    assert_eq!(status, 200);
    assert_eq!(conversation_phones(&body), [p[1].clone(), p[0].clone()]);
    assert!(body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["is_chat_support"] == true));

    // Ended chats leave the filter.
    assert_eq!(admin_end(&h, &token, &p[0]).await.0, 200);
    let (_, body) = get(&h.ctx, "/api/admin/conversations?filter=support", &token).await;
    assert_eq!(conversation_phones(&body), [p[1].clone()]);
    let (status, body) = get(&h.ctx, "/api/admin/conversations?filter=bogus", &token).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
}

/// Follows `next_cursor` from the first page; every page's phones.
async fn all_pages(h: &Harness, token: &str, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let path = match &cursor {
            Some(c) => format!(
                "/api/admin/conversations?{query}&cursor={}",
                c.replace('#', "%23")
            ),
            None => format!("/api/admin/conversations?{query}"),
        };
        let (status, body) = get(&h.ctx, &path, token).await;
        assert_eq!(status, 200, "{path}: {body}");
        pages.push(conversation_phones(&body));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return pages,
        }
    }
    panic!("pagination did not end: {pages:?}");
}

#[tokio::test]
async fn pages_return_every_conversation_exactly_once() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let p = five_conversations(&h).await;
    let pages = all_pages(&h, &token, "limit=2").await;
    assert!(pages.iter().all(|page| page.len() <= 2), "{pages:?}");
    assert_eq!(pages[0].len(), 2);
    let all: Vec<String> = pages.concat();
    assert_eq!(
        all,
        [
            p[1].clone(),
            p[0].clone(),
            p[4].clone(),
            p[3].clone(),
            p[2].clone()
        ],
        "in order, none twice, none missing"
    );

    let support: Vec<String> = all_pages(&h, &token, "filter=support&limit=1")
        .await
        .concat();
    assert_eq!(support, [p[1].clone(), p[0].clone()]);
}

#[tokio::test]
async fn the_list_refuses_bad_cursors_and_limits() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says(&h, ADA, "hello").await;
    for query in [
        "cursor=garbage",
        "cursor=123%23447700900123",
        "cursor=1764059263042%2312ab",
        "cursor=1764059263042",
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=ten",
        "limit=",
    ] {
        let (status, body) =
            get(&h.ctx, &format!("/api/admin/conversations?{query}"), &token).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(error_code(&body), "invalid_request", "{query}");
    }
    for query in ["limit=1", "limit=200"] {
        assert_eq!(
            get(&h.ctx, &format!("/api/admin/conversations?{query}"), &token)
                .await
                .0,
            200,
            "{query}"
        );
    }
}

// ---- get-messages ------------------------------------------------------------------------

/// Ada in chat support, then six more messages m1…m6 in one webhook: eight in the history
/// (support, the bot's acknowledgement, m1…m6).
async fn eight_messages(h: &Harness) -> Vec<String> {
    in_support(h, ADA).await;
    let ts = now_secs();
    let messages: Vec<Value> = (1..=6)
        .map(|i| text_message(ADA, &new_wamid(), ts, &format!("m{i}")))
        .collect();
    assert_eq!(
        post_webhook(h, &our_change(json!({ "messages": messages }))).await,
        200
    );
    assert!(process(h).await.batch_item_failures.is_empty());
    let all = history(h, ADA).await;
    assert_eq!(all.len(), 8);
    all.into_iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn get_messages_404_for_an_unknown_phone_and_400_for_a_bad_one() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let (status, body) = admin_history(&h, &token, UNKNOWN, "").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    for bad in [
        "12ab",
        "+4477",
        "1234567",
        "1234567890123456",
        "%2B447700900123",
        "447700900123%20",
    ] {
        let (status, body) = admin_history(&h, &token, bad, "").await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn get_messages_returns_the_newest_oldest_first_and_pages_back_without_gaps() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let ids = eight_messages(&h).await;

    let (status, body) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        ids_of(&body["messages"]),
        ids,
        "default limit: all, oldest first"
    );
    assert_eq!(body["conversation"]["phone"], ADA);
    assert_eq!(body["conversation"]["state"], "CHAT_SUPPORT_ACTIVE");

    let (_, page) = admin_history(&h, &token, ADA, "?limit=3").await;
    assert_eq!(texts_of(&page["messages"]), ["m4", "m5", "m6"]);
    assert_eq!(page["next_cursor"], ids[5].as_str());

    let mut collected: Vec<Vec<String>> = vec![ids_of(&page["messages"])];
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(before) = cursor {
        assert!(collected.len() < 10, "paging did not end");
        let (status, page) =
            admin_history(&h, &token, ADA, &format!("?limit=3&before={before}")).await;
        assert_eq!(status, 200);
        collected.push(ids_of(&page["messages"]));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let back_to_front: Vec<String> = collected.into_iter().rev().flatten().collect();
    assert_eq!(back_to_front, ids, "no overlap, no gap");
}

#[tokio::test]
async fn get_messages_after_an_id_returns_only_newer_messages() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let ids = eight_messages(&h).await;
    let (status, body) = admin_history(&h, &token, ADA, &format!("?after={}", ids[4])).await;
    assert_eq!(status, 200);
    assert_eq!(texts_of(&body["messages"]), ["m4", "m5", "m6"]);
    let (_, body) = admin_history(&h, &token, ADA, &format!("?after={}", ids[7])).await;
    assert_eq!(body["messages"], json!([]));

    user_says(&h, ADA, "m7").await;
    let (_, body) = admin_history(&h, &token, ADA, &format!("?after={}", ids[7])).await;
    assert_eq!(texts_of(&body["messages"]), ["m7"]);
}

#[tokio::test]
async fn get_messages_shows_each_message_as_the_contract_says() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let ts = now_secs() - 30;
    let wamid = new_wamid();
    assert_eq!(
        post_webhook(&h, &user_text(ADA, &wamid, ts, "support")).await,
        200
    );
    assert!(process(&h).await.batch_item_failures.is_empty());
    let (_, body) = admin_history(&h, &token, ADA, "").await;
    let inbound = &body["messages"][0];
    assert_eq!(inbound["direction"], "inbound");
    assert_eq!(inbound["author"], "user");
    assert!(inbound["admin"].is_null());
    assert_eq!(inbound["kind"], "text");
    assert_eq!(inbound["text"], "support");
    assert_eq!(inbound["status"], "received");
    assert!(inbound["error"].is_null());
    assert_eq!(inbound["wamid"], wamid.as_str());
    assert!(is_rfc3339_millis(&inbound["created_at"]));
    assert_eq!(
        inbound["sent_at"],
        rfc3339(ts * 1000),
        "the user's own timestamp"
    );
    let ack = &body["messages"][1];
    assert_eq!(
        (ack["direction"].as_str(), ack["author"].as_str()),
        (Some("outbound"), Some("bot"))
    );
    assert_eq!(ack["kind"], "interactive");
    assert_eq!(ack["status"], "sent");
    assert!(ack["text"]
        .as_str()
        .unwrap()
        .starts_with(&content().support_ack));
}

#[tokio::test]
async fn get_messages_refuses_bad_cursors_and_limits() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let ids = eight_messages(&h).await;
    let lowercase = ids[3].to_lowercase();
    let both = format!("?before={}&after={}", ids[5], ids[1]);
    let bad_before = [
        "?before=nope".to_owned(),
        "?before=01ARZ3NDEKTSV4RRFFQ69G5FA".to_owned(),
        format!("?before={lowercase}"),
        format!("?before={}%23", ids[3]),
        "?after=nope".to_owned(),
        both,
        "?limit=0".to_owned(),
        "?limit=201".to_owned(),
        "?limit=x".to_owned(),
    ];
    for query in bad_before {
        let (status, body) = admin_history(&h, &token, ADA, &query).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{query}: {body}"
        );
    }
    assert_eq!(admin_history(&h, &token, ADA, "?limit=200").await.0, 200);
}

// ---- send-message ------------------------------------------------------------------------

#[tokio::test]
async fn a_reply_is_stored_sent_and_delivered_exactly_as_the_graph_api_expects() {
    let (h, token) = desk().await;
    let before = h.graph.sends().len();
    let (status, body) = admin_send(&h, &token, ADA, "  Hello Ada, how can I help?\n").await;
    assert_eq!(status, 201, "{body}");
    let m = &body["message"];
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["status"], "sent");
    assert_eq!(m["direction"], "outbound");
    assert_eq!(m["author"], "admin");
    assert_eq!(m["admin"], ADMIN);
    assert_eq!(m["kind"], "text");
    assert_eq!(m["text"], "Hello Ada, how can I help?");
    assert!(m["error"].is_null());
    assert!(
        m["wamid"]
            .as_str()
            .is_some_and(|w| w.starts_with("wamid.TEST")),
        "{m}"
    );
    assert!(is_rfc3339_millis(&m["created_at"]) && is_rfc3339_millis(&m["sent_at"]));

    let sends = h.graph.sends();
    assert_eq!(sends.len(), before + 1);
    let sent = sends.last().unwrap();
    assert_eq!(sent.path, format!("/v23.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert_eq!(
        sent.body,
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": ADA, "type": "text",
            "text": {"body": "Hello Ada, how can I help?", "preview_url": false},
            "biz_opaque_callback_data": id,
        })
    );

    let (_, history) = admin_history(&h, &token, ADA, "").await;
    let last = history["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(&last, m, "the history holds the message as returned");
    assert_eq!(history["conversation"]["unread_count"], 0, "answered");
    assert!(history["conversation"]["waiting_since"].is_null());
    assert_eq!(history["conversation"]["state"], "CHAT_SUPPORT_ACTIVE");
}

#[tokio::test]
async fn send_refusals_come_in_the_contract_order() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let (opted_out, at_menu, old_at_menu, old_in_support) = (
        "447700900201",
        "447700900202",
        "447700900203",
        "447700900204",
    );
    in_support(&h, opted_out).await;
    user_says(&h, opted_out, "STOP").await;
    user_says(&h, at_menu, "hello").await;
    user_says_at(&h, old_at_menu, "hello", now_secs() - 25 * HOUR_SECS).await;
    user_says_at(&h, old_in_support, "support", now_secs() - 25 * HOUR_SECS).await;
    assert!(conversation(&h, old_in_support)
        .await
        .unwrap()
        .is_chat_support());
    let sends = h.graph.sends().len();

    for (phone, status, code) in [
        (UNKNOWN, 404, "not_found"),
        // Opted out and not in chat support: opted_out comes first.
        (opted_out, 409, "opted_out"),
        (at_menu, 409, "not_in_chat_support"),
        // Window closed and not in chat support: not_in_chat_support comes first.
        (old_at_menu, 409, "not_in_chat_support"),
        (old_in_support, 409, "window_closed"),
    ] {
        let stored = history(&h, phone).await.len();
        let (got, body) = admin_send(&h, &token, phone, "Hello").await;
        assert_eq!((got, error_code(&body)), (status, code), "{phone}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(
            history(&h, phone).await.len(),
            stored,
            "{phone}: nothing stored"
        );
    }
    assert_eq!(h.graph.sends().len(), sends, "nothing sent");
    let (status, body) = admin_send(&h, &token, "12ab", "Hello").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
}

#[tokio::test]
async fn an_admin_may_send_at_most_60_replies_a_minute() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    // The limit counts per calendar minute: do not start right before one ends.
    let into_minute = now_ms() % 60_000;
    if into_minute > 45_000 {
        tokio::time::sleep(Duration::from_millis((60_000 - into_minute + 50) as u64)).await;
    }
    for attempt in 1..=edubot_app::sending::SENDS_PER_ADMIN_PER_MINUTE {
        let (status, _) = admin_send(&h, &token, UNKNOWN, "Hello").await;
        assert_eq!(status, 404, "attempt {attempt}");
    }
    let response = call(
        &h.ctx,
        Method::POST,
        &format!("/api/admin/conversations/{UNKNOWN}/chat-support/send"),
        Some(&token),
        Some(&json!({"text": "Hello"})),
    )
    .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = json_of(response);
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
}

#[tokio::test]
async fn after_an_answer_the_next_user_message_waits_again() {
    let (h, token) = desk().await;
    assert_eq!(admin_send(&h, &token, ADA, "How can I help?").await.0, 201);
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!((c.unread_count, c.waiting_since), (0, None));
    user_says(&h, ADA, "My timetable is wrong").await;
    let question = history(&h, ADA).await.pop().unwrap();
    assert_eq!(question.text.as_deref(), Some("My timetable is wrong"));
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        (c.unread_count, c.waiting_since),
        (1, Some(question.created_at))
    );
    let (_, list) = get(&h.ctx, "/api/admin/conversations?filter=support", &token).await;
    assert_eq!(
        list["conversations"][0]["waiting_since"],
        rfc3339(question.created_at)
    );
    assert_eq!(
        list["conversations"][0]["last_message_preview"],
        "My timetable is wrong"
    );
}

#[tokio::test]
async fn the_window_runs_from_the_users_own_timestamp() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    // Stored just now, but written 23 hours ago by the user: still inside the window.
    user_says_at(&h, ADA, "support", now_secs() - 23 * HOUR_SECS).await;
    assert_eq!(admin_send(&h, &token, ADA, "Still in time").await.0, 201);
    // Stored just now, written 25 hours ago: outside it.
    user_says_at(&h, BOB, "support", now_secs() - 25 * HOUR_SECS).await;
    let (status, body) = admin_send(&h, &token, BOB, "Too late").await;
    assert_eq!((status, error_code(&body)), (409, "window_closed"));
}

#[tokio::test]
async fn send_validates_the_text_in_code_points_after_trimming() {
    let (h, token) = desk().await;
    let path = format!("/api/admin/conversations/{ADA}/chat-support/send");
    let stored = history(&h, ADA).await.len();
    for (body, what) in [
        (json!({"text": ""}), "empty"),
        (json!({"text": "  \n\t  "}), "whitespace"),
        (json!({"text": "a".repeat(4097)}), "4097 characters"),
        (
            json!({"text": "é".repeat(4097)}),
            "4097 two-byte characters",
        ),
        (json!({}), "no text"),
        (json!({"text": 42}), "not a string"),
    ] {
        let (status, json) = post(&h.ctx, &path, &token, Some(&body)).await;
        assert_eq!(
            (status, error_code(&json)),
            (400, "invalid_request"),
            "{what}"
        );
    }
    assert_eq!(history(&h, ADA).await.len(), stored, "nothing stored");

    // 4096 code points pass however many bytes or UTF-16 units they take, and padding is trimmed.
    let mixed = format!("{}{}", "💬".repeat(2048), "é".repeat(2048));
    assert_eq!(mixed.chars().count(), 4096);
    assert!(mixed.len() > 4096 && mixed.encode_utf16().count() > 4096);
    for text in ["a".repeat(4096), format!("   {mixed}   ")] {
        let (status, json) = admin_send(&h, &token, ADA, &text).await;
        assert_eq!(status, 201, "{json}");
        let sent = h.graph.sends().last().unwrap().body["text"]["body"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sent, text.trim());
        assert_eq!(sent.chars().count(), 4096);
    }
}

/// The limit is on the text: the longest text fits in a body, even in 4-byte characters,
/// and even with every character escaped as JSON allows.
#[tokio::test]
async fn the_longest_text_fits_in_a_body_whatever_its_characters() {
    let (h, token) = desk().await;
    let path = format!("/api/admin/conversations/{ADA}/chat-support/send");
    let emoji = "💬".repeat(4096);
    let body = json!({ "text": emoji });
    assert!(
        body.to_string().len() > 16 * 1024,
        "the old limit refused it"
    );
    let (status, json) = post(&h.ctx, &path, &token, Some(&body)).await;
    assert_eq!(status, 201, "{json}");
    assert_eq!(json["message"]["text"], emoji);
    let escaped = format!("{{\"text\": \"{}\"}}", "\\ud83d\\udcac".repeat(4096));
    let (status, json) = edubot_e2e::json_of(
        call_with_headers(
            &h.ctx,
            Method::POST,
            &path,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            escaped.as_bytes(),
        )
        .await,
    );
    assert_eq!(status, 201, "{json}");
    assert_eq!(json["message"]["text"], emoji);
}

#[tokio::test]
async fn send_refuses_a_body_over_64_kib() {
    let (h, token) = desk().await;
    let path = format!("/api/admin/conversations/{ADA}/chat-support/send");
    let body = json!({"text": "hello", "padding": "x".repeat(64 * 1024)});
    let (status, json) = post(&h.ctx, &path, &token, Some(&body)).await;
    assert_eq!((status, error_code(&json)), (413, "too_large"));
    let (status, json) = edubot_e2e::json_of(
        call_with_headers(
            &h.ctx,
            Method::POST,
            &path,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            b"{\"text\": ",
        )
        .await,
    );
    assert_eq!((status, error_code(&json)), (400, "invalid_request"));
}

#[tokio::test]
async fn a_permanent_graph_error_is_a_502_with_the_failed_message() {
    let (h, token) = desk().await;
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    let (status, body) = admin_send(&h, &token, ADA, "Are you there?").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(error_code(&body), "whatsapp_error");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    let m = &body["message"];
    assert_eq!(m["status"], "failed");
    assert_eq!(m["error"]["code"], "131026");
    assert_eq!(m["text"], "Are you there?");
    assert!(m["wamid"].is_null());

    let stored = history(&h, ADA)
        .await
        .into_iter()
        .find(|s| s.id == m["id"].as_str().unwrap())
        .expect("stored");
    assert_eq!(stored.status, MessageStatus::Failed);
    assert_eq!(stored.author, Author::Admin);
    assert_eq!(stored.error.unwrap().code, "131026");
}

#[tokio::test]
async fn a_graph_server_error_is_a_202_with_a_pending_message() {
    let (h, token) = desk().await;
    h.graph.script(Scripted::ServerError(500));
    let (status, body) = admin_send(&h, &token, ADA, "One moment").await;
    assert_eq!(status, 202, "{body}");
    let m = &body["message"];
    assert_eq!(m["status"], "pending");
    assert!(m["wamid"].is_null());
    assert_eq!(
        h.graph.sends().last().unwrap().body["text"]["body"],
        "One moment",
        "it was attempted"
    );

    let (_, history) = admin_history(&h, &token, ADA, "").await;
    let stored = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == m["id"])
        .expect("stored")
        .clone();
    assert_eq!(stored["status"], "pending");
    assert_eq!(stored["text"], "One moment");
}

/// Meta took the reply but recording that failed (here: a wamid no key can hold): the admin
/// gets 202 with the message as it went out, never a 500 that invites a second copy.
#[tokio::test]
async fn a_sent_reply_whose_record_failed_is_a_202_not_a_500() {
    let (h, token) = desk().await;
    let before = h.graph.sends().len();
    let wamid = format!("wamid.{}", "W".repeat(3_000));
    h.graph.script(Scripted::SuccessWithWamid(wamid.clone()));
    let (status, body) = admin_send(&h, &token, ADA, "On its way").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"]["wamid"], wamid.as_str());
    assert_eq!(body["message"]["text"], "On its way");
    assert_eq!(h.graph.sends().len(), before + 1, "sent once");
}

// ---- end-chat ----------------------------------------------------------------------------

#[tokio::test]
async fn ending_a_chat_closes_it_asks_for_a_rating_and_keeps_the_history() {
    let (h, token) = desk().await;
    user_says(&h, ADA, "My certificate has a typo").await;
    assert_eq!(
        admin_send(&h, &token, ADA, "Fixed, a new one is on its way")
            .await
            .0,
        201
    );
    let (_, before) = admin_history(&h, &token, ADA, "").await;
    let earlier = ids_of(&before["messages"]);
    let sends = h.graph.sends_to(ADA).len();

    let (status, body) = admin_end(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    let c = &body["conversation"];
    assert_eq!(c["phone"], ADA);
    assert_eq!(c["is_chat_support"], false);
    assert_eq!(c["state"], "SUPPORT_FEEDBACK");
    assert!(c["support_started_at"].is_null() && c["waiting_since"].is_null());

    let to_user = h.graph.sends_to(ADA);
    assert_eq!(to_user.len(), sends + 2, "closing text and rating");
    assert_eq!(
        to_user[sends].text(),
        Some(content().support_ended_by_admin.as_str())
    );
    assert_eq!(
        to_user[sends + 1].choice_ids(),
        ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
    );

    let (status, again) = admin_end(&h, &token, ADA).await;
    assert_eq!((status, error_code(&again)), (409, "not_in_chat_support"));
    assert_eq!(h.graph.sends_to(ADA).len(), sends + 2, "nothing more sent");

    let (_, after) = admin_history(&h, &token, ADA, "").await;
    let messages = after["messages"].as_array().unwrap();
    assert_eq!(
        ids_of(&after["messages"])[..earlier.len()],
        earlier[..],
        "the history stays"
    );
    assert_eq!(messages.len(), earlier.len() + 3);
    let note = &messages[earlier.len()];
    assert_eq!(
        (note["author"].as_str(), note["kind"].as_str()),
        (Some("system"), Some("system"))
    );
    assert!(note["text"].as_str().unwrap().contains(ADMIN));
    let (_, body) = admin_send(&h, &token, ADA, "one more thing").await;
    assert_eq!(error_code(&body), "not_in_chat_support");
}

#[tokio::test]
async fn ending_a_chat_outside_the_window_sends_nothing() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says_at(&h, ADA, "support", now_secs() - 25 * HOUR_SECS).await;
    let (status, body) = admin_end(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["state"], "MAIN_MENU");
    assert!(h.graph.sends().is_empty());
    let last = history(&h, ADA).await.pop().unwrap();
    assert_eq!(last.author, Author::System);
}

#[tokio::test]
async fn ending_refuses_unknown_and_bad_phones() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let (status, body) = admin_end(&h, &token, UNKNOWN).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = admin_end(&h, &token, "+4477").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
    user_says(&h, ADA, "hello").await;
    let (status, body) = admin_end(&h, &token, ADA).await;
    assert_eq!((status, error_code(&body)), (409, "not_in_chat_support"));
}

// ---- dashboard ---------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_counts_active_chats_and_who_is_not_yet_past_the_sla() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let (status, body) = get(&h.ctx, "/api/admin/dashboard", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["active_chats"].as_u64(),
            body["waiting_chats"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(body["oldest_waiting_since"].is_null());

    in_support(&h, ADA).await;
    in_support(&h, BOB).await;
    user_says(&h, "447700900789", "hello").await;
    let (_, body) = get(&h.ctx, "/api/admin/dashboard", &token).await;
    assert_eq!(body["active_chats"], 2);
    assert_eq!(body["waiting_chats"], 0, "nobody has waited 5 minutes yet");
    let ada_waiting = conversation(&h, ADA).await.unwrap().waiting_since.unwrap();
    assert_eq!(body["oldest_waiting_since"], rfc3339(ada_waiting));
}

#[tokio::test]
async fn the_dashboard_counts_users_waiting_past_the_sla() {
    let h = harness_with(&[("SUPPORT_SLA_SECONDS", "1")]).await;
    let token = h.admin_token().await;
    in_support(&h, ADA).await;
    in_support(&h, BOB).await;
    user_says(&h, "447700900789", "hello").await;
    let ada_waiting = conversation(&h, ADA).await.unwrap().waiting_since.unwrap();
    let bob_waiting = conversation(&h, BOB).await.unwrap().waiting_since.unwrap();
    let wait = (bob_waiting + 1100 - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;

    let (_, body) = get(&h.ctx, "/api/admin/dashboard", &token).await;
    assert_eq!(
        (
            body["active_chats"].as_u64(),
            body["waiting_chats"].as_u64()
        ),
        (Some(2), Some(2)),
        "{body}"
    );
    assert_eq!(body["oldest_waiting_since"], rfc3339(ada_waiting));

    // More messages from a waiting user do not restart the wait.
    user_says(&h, ADA, "Hello? Anyone?").await;
    assert_eq!(
        conversation(&h, ADA).await.unwrap().waiting_since,
        Some(ada_waiting)
    );

    // Answering Ada: Bob is now the one who has waited longest.
    assert_eq!(admin_send(&h, &token, ADA, "Here to help").await.0, 201);
    let (_, body) = get(&h.ctx, "/api/admin/dashboard", &token).await;
    assert_eq!(
        (
            body["active_chats"].as_u64(),
            body["waiting_chats"].as_u64()
        ),
        (Some(2), Some(1)),
        "{body}"
    );
    assert_eq!(body["oldest_waiting_since"], rfc3339(bob_waiting));

    // Ending Bob's chat leaves one active chat and nobody waiting.
    assert_eq!(admin_end(&h, &token, BOB).await.0, 200);
    let (_, body) = get(&h.ctx, "/api/admin/dashboard", &token).await;
    assert_eq!(
        (
            body["active_chats"].as_u64(),
            body["waiting_chats"].as_u64()
        ),
        (Some(1), Some(0)),
        "{body}"
    );
    assert!(body["oldest_waiting_since"].is_null());
}

/// The page checks the server's limits before sending (static-site/js/limits.js): each is
/// the server's own number, so the page never allows what the API refuses nor refuses what
/// it allows.
#[test]
fn the_pages_limits_are_the_servers() {
    use edubot_adapters::http::{MAX_ADMIN_BODY_BYTES, MAX_PAGE};
    use edubot_domain::media::{AttachmentKind, MAX_CAPTION_CHARS};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../static-site/js/limits.js");
    let page = std::fs::read_to_string(path).expect("limits.js");
    let number =
        |name: &str| js_number(&page, name).unwrap_or_else(|| panic!("limits.js sets {name}"));
    let server = [
        (
            "MAX_TEXT_CHARS",
            edubot_domain::whatsapp::MAX_TEXT_CHARS as f64,
        ),
        ("MAX_BODY_BYTES", MAX_ADMIN_BODY_BYTES as f64),
        ("MAX_PAGE_SIZE", f64::from(MAX_PAGE)),
        (
            "MAX_QUERY_CHARS",
            edubot_domain::search::MAX_QUERY_CHARS as f64,
        ),
        (
            "MAX_TEMPLATE_CHARS",
            edubot_domain::templates::MAX_TEMPLATE_BODY_CHARS as f64,
        ),
        ("MAX_CAPTION_CHARS", MAX_CAPTION_CHARS as f64),
    ];
    for (name, limit) in server {
        assert_eq!(number(name), limit, "{name}");
    }
    for kind in [
        AttachmentKind::Image,
        AttachmentKind::Document,
        AttachmentKind::Audio,
        AttachmentKind::Video,
    ] {
        let mb = kind.max_bytes() / (1024 * 1024);
        let line = format!("{}: [{mb} * MB,", kind.as_str());
        assert!(
            page.contains(&line),
            "limits.js's MAX_FILE_BYTES has `{line}`"
        );
    }
}
