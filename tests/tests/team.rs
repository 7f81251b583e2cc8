//! A team at the desk (DESIGN §15): roles, admin management, assignment, internal notes,
//! canned replies, search and the audit log, through the real handlers against DynamoDB
//! Local and the Graph API stand-in.

mod handler_kit;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_smithy_runtime_api::box_error::BoxError;
use edubot_adapters::model::{Conversation, ConversationState};
use edubot_adapters::store::{ConversationStore, SEARCH_PAGE, SEARCH_QUERIES};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_e2e::*;
use futures_util::StreamExt;
use handler_kit::*;
use http::Method;
use serde_json::{json, Value};

const ADA: &str = "447700900123";
const BOB: &str = "447700900456";

async fn in_support(h: &Harness, raw_phone: &str) {
    user_says(h, raw_phone, "support").await;
    assert!(conversation(h, raw_phone).await.unwrap().is_chat_support());
}

async fn delete(ctx: &AppContext, path: &str, token: &str) -> (u16, Value) {
    json_of(call(ctx, Method::DELETE, path, Some(token), None).await)
}

async fn assign(h: &Harness, token: &str, raw_phone: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/admin/conversations/{raw_phone}/assign");
    post(&h.ctx, &path, token, Some(&body)).await
}

async fn audit(h: &Harness, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = get(&h.ctx, &format!("/api/admin/audit{query}"), token).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// A supervisor's harness with Ada in chat support and a second, plain admin (jane).
async fn team() -> (Harness, String, String) {
    let h = Harness::new().await;
    let supervisor = h.admin_token().await;
    let jane = h.account_token("jane", Role::Admin).await;
    in_support(&h, ADA).await;
    (h, supervisor, jane)
}

// ---- roles and admin management ------------------------------------------------------------

#[tokio::test]
async fn only_a_supervisor_manages_the_team_and_reads_the_audit_log() {
    let (h, _, jane) = team().await;
    let routes = [
        (Method::GET, "/api/admin/admins".to_owned(), None),
        (
            Method::POST,
            "/api/admin/admins".to_owned(),
            Some(json!({"username": "newbie", "password": "a long password", "role": "admin"})),
        ),
        (
            Method::POST,
            format!("/api/admin/admins/{ADMIN}/disable"),
            None,
        ),
        (
            Method::POST,
            "/api/admin/admins/jane/enable".to_owned(),
            None,
        ),
        (
            Method::POST,
            format!("/api/admin/admins/{ADMIN}/password"),
            Some(json!({"password": "a long password"})),
        ),
        (Method::GET, "/api/admin/audit".to_owned(), None),
    ];
    for (method, path, body) in routes {
        let (status, json) =
            json_of(call(&h.ctx, method.clone(), &path, Some(&jane), body.as_ref()).await);
        assert_eq!(status, 403, "{method} {path}: {json}");
        assert_eq!(error_code(&json), "forbidden");
    }
    // Nothing changed: no account made, the supervisor still enabled.
    let names: Vec<String> = edubot_app::ports::AdminStore::list_admins(&h.ctx.store)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, [ADMIN, "jane"]);
    // The desk's own work is open to an admin.
    assert_eq!(get(&h.ctx, "/api/admin/canned-replies", &jane).await.0, 200);
    assert_eq!(admin_send(&h, &jane, ADA, "Hello Ada").await.0, 201);
}

#[tokio::test]
async fn a_supervisor_creates_lists_disables_enables_and_resets_accounts() {
    let (h, supervisor, _) = team().await;
    let (status, created) = post(
        &h.ctx,
        "/api/admin/admins",
        &supervisor,
        Some(&json!({"username": "sam.lee", "password": "correct horse battery", "role": "supervisor"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["admin"]["username"], "sam.lee");
    assert_eq!(created["admin"]["role"], "supervisor");
    assert_eq!(created["admin"]["disabled"], false);
    assert!(is_rfc3339_millis(&created["admin"]["created_at"]));

    let (status, listed) = get(&h.ctx, "/api/admin/admins", &supervisor).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = listed["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, [ADMIN, "jane", "sam.lee"]);
    assert!(
        !listed.to_string().contains("argon2"),
        "no hash is ever listed"
    );

    // The new account signs in, and its token carries its role.
    let login = json!({"username": "sam.lee", "password": "correct horse battery"});
    let (status, signed_in) =
        json_of(call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await);
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["role"], "supervisor");
    assert_eq!(signed_in["username"], "sam.lee");
    let sam = signed_in["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&h.ctx, "/api/admin/admins", &sam).await.0, 200);

    // Disabled: its token stops working (a fresh container reads the account again).
    let (status, disabled) = post(
        &h.ctx,
        "/api/admin/admins/sam.lee/disable",
        &supervisor,
        None,
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["admin"]["disabled"], true);
    assert_eq!(
        get(&h.cold_context(), "/api/admin/admins", &sam).await.0,
        401
    );
    let (status, _) =
        json_of(call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await);
    assert_eq!(
        status, 401,
        "a disabled admin's sign-in is a wrong password's"
    );

    // Enabled again: the old token stays ended, a new sign-in works.
    let (status, enabled) = post(
        &h.ctx,
        "/api/admin/admins/sam.lee/enable",
        &supervisor,
        None,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["admin"]["disabled"], false);
    assert_eq!(
        get(&h.cold_context(), "/api/admin/admins", &sam).await.0,
        401
    );

    // A new password: the old one and the tokens so far stop working.
    let (status, _) =
        json_of(call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await);
    assert_eq!(status, 200);
    let sam = {
        let (_, body) =
            json_of(call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await);
        body["token"].as_str().unwrap().to_owned()
    };
    let (status, _) = post(
        &h.ctx,
        "/api/admin/admins/sam.lee/password",
        &supervisor,
        Some(&json!({"password": "a brand new passphrase"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&h.cold_context(), "/api/admin/admins", &sam).await.0,
        401
    );
    assert_eq!(
        json_of(call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await).0,
        401
    );
    let new_login = json!({"username": "sam.lee", "password": "a brand new passphrase"});
    assert_eq!(
        json_of(
            call(
                &h.ctx,
                Method::POST,
                "/api/admin/login",
                None,
                Some(&new_login)
            )
            .await
        )
        .0,
        200
    );
}

#[tokio::test]
async fn bad_accounts_are_refused_with_the_field_named() {
    let (h, supervisor, _) = team().await;
    let cases = [
        (
            json!({"username": "ab", "password": "a long password", "role": "admin"}),
            400,
            "username",
        ),
        (
            json!({"username": "Ann", "password": "a long password", "role": "admin"}),
            400,
            "username",
        ),
        (
            json!({"username": "ann", "password": "too short", "role": "admin"}),
            400,
            "password",
        ),
        (
            json!({"username": "ann", "password": "a long password", "role": "root"}),
            400,
            "role",
        ),
        (
            json!({"username": "ann", "password": "a long password"}),
            400,
            "role",
        ),
        (
            json!({"username": "jane", "password": "a long password", "role": "admin"}),
            409,
            "already exists",
        ),
    ];
    for (body, status, says) in cases {
        let (got, json) = post(&h.ctx, "/api/admin/admins", &supervisor, Some(&body)).await;
        assert_eq!(got, status, "{body}: {json}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // Re-creating jane (an admin) never changed her: still an admin, still her password.
    let admins = edubot_app::ports::AdminStore::list_admins(&h.ctx.store)
        .await
        .unwrap();
    assert_eq!(admins.len(), 2);
    assert_eq!(admins[1].role, Role::Admin);
    for path in [
        "/api/admin/admins/nobody/disable",
        "/api/admin/admins/NOT%20A%20NAME/enable",
    ] {
        let (status, json) = post(&h.ctx, path, &supervisor, None).await;
        assert_eq!(status, 404, "{path}: {json}");
    }
    let (status, json) = post(
        &h.ctx,
        "/api/admin/admins/jane/password",
        &supervisor,
        Some(&json!({"password": "short"})),
    )
    .await;
    assert_eq!((status, error_code(&json)), (400, "invalid_request"));
}

#[tokio::test]
async fn the_last_enabled_supervisor_cannot_be_disabled() {
    let (h, supervisor, _) = team().await;
    let (status, json) = post(
        &h.ctx,
        &format!("/api/admin/admins/{ADMIN}/disable"),
        &supervisor,
        None,
    )
    .await;
    assert_eq!((status, error_code(&json)), (409, "conflict"), "{json}");
    // With a second supervisor, either may go, but not both at once.
    let sam = h.account_token("sam", Role::Supervisor).await;
    let disable_admin = format!("/api/admin/admins/{ADMIN}/disable");
    let (first, second) = futures_util::join!(
        post(&h.ctx, "/api/admin/admins/sam/disable", &supervisor, None),
        post(&h.ctx, &disable_admin, &sam, None),
    );
    let statuses = [first.0, second.0];
    assert!(
        statuses.contains(&200) && statuses.iter().any(|s| *s == 409 || *s == 401),
        "one supervisor stays enabled: {first:?} {second:?}"
    );
    let enabled_supervisors = edubot_app::ports::AdminStore::list_admins(&h.ctx.store)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role == Role::Supervisor && !a.disabled)
        .count();
    assert_eq!(enabled_supervisors, 1);
}

// ---- assignment ----------------------------------------------------------------------------

#[tokio::test]
async fn the_first_answer_takes_an_unassigned_chat_and_a_colleague_gets_409_with_who() {
    let (h, supervisor, jane) = team().await;
    let (status, sent) = admin_send(&h, &jane, ADA, "Hello, I am Jane").await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        conversation(&h, ADA).await.unwrap().assigned_to.as_deref(),
        Some("jane")
    );
    let sends = h.graph.sends().len();
    let (status, refused) = admin_send(&h, &supervisor, ADA, "Me too").await;
    assert_eq!(
        (status, error_code(&refused)),
        (409, "assigned_to_other"),
        "{refused}"
    );
    assert_eq!(refused["conversation"]["assigned_to"], "jane");
    assert_eq!(refused["conversation"]["phone"], ADA);
    assert_eq!(h.graph.sends().len(), sends, "nothing sent");
    // A template is refused the same way, before its own checks (DESIGN §13's order).
    for name in ["welcome_back", "no_such_template"] {
        let (status, refused) = post(
            &h.ctx,
            &format!("/api/admin/conversations/{ADA}/template"),
            &supervisor,
            Some(&json!({"name": name, "language": "en_US"})),
        )
        .await;
        assert_eq!(
            (status, error_code(&refused)),
            (409, "assigned_to_other"),
            "{name}: {refused}"
        );
    }
    // Taking it over (as the page believed: held by jane), then answering, works.
    let (status, taken) = assign(
        &h,
        &supervisor,
        ADA,
        json!({"admin": ADMIN, "expected_assigned_to": "jane"}),
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["conversation"]["assigned_to"], ADMIN);
    assert_eq!(
        admin_send(&h, &supervisor, ADA, "I take it from here")
            .await
            .0,
        201
    );
    assert_eq!(admin_send(&h, &jane, ADA, "ok").await.0, 409);
    // Ending the chat frees it.
    assert_eq!(admin_end(&h, &supervisor, ADA).await.0, 200);
    assert_eq!(conversation(&h, ADA).await.unwrap().assigned_to, None);
}

#[tokio::test]
async fn two_admins_answering_an_unassigned_chat_at_once_one_is_sent_the_other_gets_409() {
    for _ in 0..3 {
        let (h, supervisor, jane) = team().await;
        let sends = h.graph.sends().len();
        let (a, b) = futures_util::join!(
            admin_send(&h, &supervisor, ADA, "from the supervisor"),
            admin_send(&h, &jane, ADA, "from jane"),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        let (winner, loser) = if a.0 == 201 {
            (ADMIN, &b.1)
        } else {
            ("jane", &a.1)
        };
        assert_eq!(error_code(loser), "assigned_to_other");
        assert_eq!(loser["conversation"]["assigned_to"], winner);
        assert_eq!(
            h.graph.sends().len(),
            sends + 1,
            "exactly one reached WhatsApp"
        );
        assert_eq!(
            conversation(&h, ADA).await.unwrap().assigned_to.as_deref(),
            Some(winner)
        );
    }
}

#[tokio::test]
async fn two_admins_assigning_to_themselves_at_once_one_wins_the_other_sees_who() {
    let (h, supervisor, jane) = team().await;
    let (a, b) = futures_util::join!(
        assign(
            &h,
            &supervisor,
            ADA,
            json!({"admin": ADMIN, "expected_assigned_to": null})
        ),
        assign(
            &h,
            &jane,
            ADA,
            json!({"admin": "jane", "expected_assigned_to": null})
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let (won, lost) = if a.0 == 200 {
        (&a.1, &b.1)
    } else {
        (&b.1, &a.1)
    };
    assert_eq!(error_code(lost), "assigned_to_other");
    assert_eq!(
        lost["conversation"]["assigned_to"],
        won["conversation"]["assigned_to"]
    );
}

#[tokio::test]
async fn assignments_are_checked_and_listed_by_holder() {
    let (h, supervisor, jane) = team().await;
    in_support(&h, BOB).await;
    for (body, status, code) in [
        (json!({"admin": "nobody"}), 400, "invalid_request"),
        (json!({"admin": "NOT VALID"}), 400, "invalid_request"),
        (json!({}), 400, "invalid_request"),
        (json!({"admin": "jane", "extra": 1}), 400, "invalid_request"),
    ] {
        let (got, json) = assign(&h, &supervisor, ADA, body.clone()).await;
        assert_eq!((got, error_code(&json)), (status, code), "{body}: {json}");
    }
    // A disabled admin cannot be given a chat.
    h.account_token("gone", Role::Admin).await;
    assert!(set_admin_disabled(&h.ctx.store, "gone", true).await);
    assert_eq!(
        assign(&h, &supervisor, ADA, json!({"admin": "gone"}))
            .await
            .0,
        400
    );
    // Not in chat support, unknown: 409, 404.
    user_says(&h, "447700900777", "hi").await;
    let (status, json) = assign(&h, &supervisor, "447700900777", json!({"admin": "jane"})).await;
    assert_eq!((status, error_code(&json)), (409, "not_in_chat_support"));
    let (status, _) = assign(&h, &supervisor, "447700900999", json!({"admin": "jane"})).await;
    assert_eq!(status, 404);

    assert_eq!(
        assign(&h, &supervisor, ADA, json!({"admin": "jane"}))
            .await
            .0,
        200
    );
    let list = |token: String, filter: &'static str| {
        let ctx = &h.ctx;
        async move {
            let (status, body) = get(
                ctx,
                &format!("/api/admin/conversations?filter={filter}"),
                &token,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["phone"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(jane.clone(), "mine").await, [ADA]);
    assert!(list(supervisor.clone(), "mine").await.is_empty());
    assert_eq!(list(jane.clone(), "unassigned").await, [BOB]);
    // Unassigned again, then both are unassigned.
    assert_eq!(assign(&h, &jane, ADA, json!({"admin": null})).await.0, 200);
    let mut unassigned = list(jane.clone(), "unassigned").await;
    unassigned.sort();
    assert_eq!(unassigned, [ADA, BOB]);
    let (status, json) = get(&h.ctx, "/api/admin/conversations?filter=mine&q=ada", &jane).await;
    assert_eq!((status, error_code(&json)), (400, "invalid_request"));
}

// ---- notes ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_note_is_kept_for_the_desk_never_sent_and_never_an_answer() {
    let (h, _, jane) = team().await;
    let before = conversation(&h, ADA).await.unwrap();
    assert!(before.waiting_since.is_some());
    let sends = h.graph.sends().len();
    let (status, note) = post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/notes"),
        &jane,
        Some(&json!({"text": "  She asked about fees last week too.  "})),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    let note = &note["message"];
    assert_eq!(note["kind"], "note");
    assert_eq!(note["author"], "admin");
    assert_eq!(note["admin"], "jane");
    assert_eq!(note["text"], "She asked about fees last week too.");
    assert_eq!(
        h.graph.sends().len(),
        sends,
        "a note never reaches WhatsApp"
    );
    let after = conversation(&h, ADA).await.unwrap();
    assert_eq!(after.waiting_since, before.waiting_since);
    assert_eq!(after.unread_count, before.unread_count);
    assert_eq!(after.assigned_to, None, "a note does not take the chat");
    assert_eq!(after.last_message_preview, before.last_message_preview);
    let (_, page) = admin_history(&h, &jane, ADA, "").await;
    let last = page["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["id"], note["id"]);
    // Any state, any admin; bad text and unknown chats are refused.
    user_says(&h, BOB, "hi").await;
    let path = format!("/api/admin/conversations/{BOB}/notes");
    assert_eq!(
        post(&h.ctx, &path, &jane, Some(&json!({"text": "menu only"})))
            .await
            .0,
        201
    );
    assert_eq!(
        post(&h.ctx, &path, &jane, Some(&json!({"text": "   "})))
            .await
            .0,
        400
    );
    assert_eq!(
        post(
            &h.ctx,
            "/api/admin/conversations/447700900999/notes",
            &jane,
            Some(&json!({"text": "x"}))
        )
        .await
        .0,
        404
    );
}

// ---- canned replies ------------------------------------------------------------------------

#[tokio::test]
async fn canned_replies_are_shared_checked_and_deleted() {
    let (h, supervisor, jane) = team().await;
    let (status, created) = post(
        &h.ctx,
        "/api/admin/canned-replies",
        &jane,
        Some(&json!({"shortcut": "fees", "text": "Fees are on the website: https://example.edu/fees"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["canned_reply"]["shortcut"], "fees");
    post(
        &h.ctx,
        "/api/admin/canned-replies",
        &jane,
        Some(&json!({"shortcut": "bye", "text": "Goodbye!"})),
    )
    .await;
    let (status, listed) = get(&h.ctx, "/api/admin/canned-replies", &supervisor).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!({"canned_replies": [
            {"shortcut": "bye", "text": "Goodbye!"},
            {"shortcut": "fees", "text": "Fees are on the website: https://example.edu/fees"}
        ]})
    );
    for (body, status) in [
        (json!({"shortcut": "fees", "text": "again"}), 409),
        (json!({"shortcut": "Fees", "text": "x"}), 400),
        (json!({"shortcut": "", "text": "x"}), 400),
        (json!({"shortcut": "a".repeat(33), "text": "x"}), 400),
        (json!({"shortcut": "ok", "text": "  "}), 400),
        (json!({"shortcut": "ok", "text": "x".repeat(4097)}), 400),
    ] {
        let (got, json) = post(&h.ctx, "/api/admin/canned-replies", &jane, Some(&body)).await;
        assert_eq!(got, status, "{json}");
    }
    assert_eq!(
        delete(&h.ctx, "/api/admin/canned-replies/bye", &jane)
            .await
            .0,
        204
    );
    assert_eq!(
        delete(&h.ctx, "/api/admin/canned-replies/bye", &jane)
            .await
            .0,
        404
    );
    let (_, listed) = get(&h.ctx, "/api/admin/canned-replies", &jane).await;
    assert_eq!(listed["canned_replies"].as_array().unwrap().len(), 1);
}

// ---- search --------------------------------------------------------------------------------

/// Stores a conversation named `name` as the processor would (its search entries with it).
async fn stored_conversation(h: &Harness, raw_phone: &str, name: &str) {
    let mut c = Conversation::new(phone(raw_phone), now_ms());
    c.name = Some(name.to_owned());
    c.state = ConversationState::MainMenu;
    h.ctx
        .store
        .commit(&c, None, &[], now_ms())
        .await
        .expect("stored");
}

async fn search(h: &Harness, token: &str, q: &str) -> (u16, Value) {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    get(&h.ctx, &format!("/api/admin/conversations?q={q}"), token).await
}

fn phones_of(body: &Value) -> Vec<String> {
    body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_finds_names_by_word_starts_and_phones_by_their_start() {
    let (h, _, jane) = team().await;
    stored_conversation(&h, "447700900201", "Émilie Dupont").await;
    stored_conversation(&h, "447700900202", "Emil Zátopek").await;
    stored_conversation(&h, "33612345678", "Ann Annabel Smith").await;
    stored_conversation(&h, "33698765432", "Bob").await;
    let found = |q: &'static str| {
        let (h, jane) = (&h, &jane);
        async move {
            let (status, body) = search(h, jane, q).await;
            assert_eq!(status, 200, "{q}: {body}");
            let mut phones = phones_of(&body);
            phones.sort();
            phones
        }
    };
    assert_eq!(found("emil").await, ["447700900201", "447700900202"]);
    assert_eq!(found("ÉMILIE").await, ["447700900201"]);
    assert_eq!(found("zato").await, ["447700900202"]);
    assert_eq!(found("dup emi").await, ["447700900201"]);
    assert_eq!(
        found("ann").await,
        ["33612345678"],
        "once, though two words match"
    );
    assert_eq!(found("ann ann").await, ["33612345678"]);
    assert!(found("ann ann ann").await.is_empty());
    assert!(found("pont").await.is_empty(), "only the start of a word");
    assert_eq!(found("+33 6").await, ["33612345678", "33698765432"]);
    assert_eq!(found("4477009002").await, ["447700900201", "447700900202"]);
    // A name change moves the entries, in the conversation's own write.
    let mut bob = conversation(&h, "33698765432").await.unwrap();
    bob.name = Some("Roberta Émile".into());
    h.ctx.store.commit(&bob, None, &[], now_ms()).await.unwrap();
    assert!(found("bob").await.is_empty());
    assert_eq!(found("emil").await.len(), 3);
    for (q, what) in [
        ("", "empty"),
        ("   ", "blank"),
        ("--", "nothing searchable"),
    ] {
        let (status, body) = search(&h, &jane, q).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{what}"
        );
    }
    let (status, _) = search(&h, &jane, &"a".repeat(101)).await;
    assert_eq!(status, 400);
    let (status, _) = get(
        &h.ctx,
        "/api/admin/conversations?q=ann&cursor=zzz%23notours",
        &jane,
    )
    .await;
    assert_eq!(status, 400, "a cursor outside the query's range is refused");
}

/// Counts the DynamoDB calls a client makes and the items its Queries read.
#[derive(Debug, Clone, Default)]
struct Reads {
    calls: Arc<AtomicU64>,
    items: Arc<AtomicU64>,
    scans: Arc<AtomicU64>,
}

impl Intercept for Reads {
    fn name(&self) -> &'static str {
        "TeamTestReads"
    }
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if context.input().downcast_ref::<ScanInput>().is_some() {
            self.scans.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(out) = context.output_or_error() {
            if let Some(q) = out.downcast_ref::<QueryOutput>() {
                self.items
                    .fetch_add(q.scanned_count as u64, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn search_over_5000_conversations_reads_a_bounded_number_of_index_items() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    const FIRST: [&str; 5] = ["Ana", "Andrés", "Anil", "Bea", "Carl"];
    futures_util::stream::iter(0..5_000u32)
        .for_each_concurrent(32, |i| {
            let h = &h;
            async move {
                let name = format!("{} Surname{}", FIRST[i as usize % 5], i % 97);
                stored_conversation(h, &format!("4470{i:08}"), &name).await;
            }
        })
        .await;
    let reads = Reads::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        h.ctx
            .store
            .client()
            .config()
            .to_builder()
            .interceptor(reads.clone())
            .build(),
    );
    let counted = AppContext::new(h.ctx.config.clone(), client);
    // The token check's read, cached afterwards, is not the search's.
    assert_eq!(
        get(&counted, "/api/admin/canned-replies", &token).await.0,
        200
    );
    let bound = SEARCH_PAGE as u64 * SEARCH_QUERIES as u64;
    // "an" leads to 3,000 entries (Ana, Andrés, Anil): pages of 50, each call bounded.
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for page in 0..4 {
        let before = (
            reads.calls.load(Ordering::SeqCst),
            reads.items.load(Ordering::SeqCst),
        );
        let query = match &cursor {
            Some(c) => format!("/api/admin/conversations?q=an&limit=50&cursor={c}"),
            None => "/api/admin/conversations?q=an&limit=50".to_owned(),
        };
        let (status, body) = get(&counted, &query, &token).await;
        assert_eq!(status, 200, "{body}");
        let calls = reads.calls.load(Ordering::SeqCst) - before.0;
        let items = reads.items.load(Ordering::SeqCst) - before.1;
        assert!(
            calls <= SEARCH_QUERIES as u64 + 1,
            "page {page}: {calls} calls"
        );
        assert!(items <= bound, "page {page}: {items} index items read");
        assert_eq!(
            items, 51,
            "page {page}: every entry answers one word, so 50 and one more"
        );
        let phones = phones_of(&body);
        assert_eq!(phones.len(), 50, "page {page}");
        for p in phones {
            assert!(seen.insert(p), "each conversation once across pages");
        }
        cursor = body["next_cursor"]
            .as_str()
            .map(|c| url::form_urlencoded::byte_serialize(c.as_bytes()).collect());
        assert!(cursor.is_some());
    }
    // Two words: the longer leads; a rare second word filters within the bound, and the
    // caller pages on with the cursor until the index range ends.
    let mut found = 0;
    let mut cursor: Option<String> = None;
    let mut calls_made = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/admin/conversations?q=surname5+ana&limit=100&cursor={c}"),
            None => "/api/admin/conversations?q=surname5+ana&limit=100".to_owned(),
        };
        let before = reads.items.load(Ordering::SeqCst);
        let (status, body) = get(&counted, &query, &token).await;
        assert_eq!(status, 200, "{body}");
        assert!(reads.items.load(Ordering::SeqCst) - before <= bound);
        for c in body["conversations"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            assert!(
                name.starts_with("Ana ") && name.contains(" Surname5"),
                "{name}"
            );
            found += 1;
        }
        calls_made += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(url::form_urlencoded::byte_serialize(c.as_bytes()).collect()),
            None => break,
        }
        assert!(calls_made < 50, "the search ends");
    }
    // Ana is every 5th i; Surname5x is i % 97 in {5, 50..59}: count them by hand.
    let expected = (0..5_000u32)
        .filter(|i| i % 5 == 0 && format!("{}", i % 97).starts_with('5'))
        .count();
    assert_eq!(found, expected);
    assert_eq!(reads.scans.load(Ordering::SeqCst), 0, "never a Scan");
}

// ---- audit log -----------------------------------------------------------------------------

#[tokio::test]
async fn every_action_is_in_the_audit_log_without_text_or_passwords() {
    let (h, supervisor, jane) = team().await;
    let login = json!({"username": ADMIN, "password": ADMIN_PASSWORD});
    call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&login)).await;
    let wrong = json!({"username": "jane", "password": "not her password"});
    call(&h.ctx, Method::POST, "/api/admin/login", None, Some(&wrong)).await;
    admin_send(&h, &jane, ADA, "secret text of a reply").await;
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/notes"),
        &jane,
        Some(&json!({"text": "secret note"})),
    )
    .await;
    assign(&h, &supervisor, ADA, json!({"admin": ADMIN})).await;
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/template"),
        &supervisor,
        Some(&json!({"name": "welcome_back", "language": "en_US"})),
    )
    .await;
    admin_end(&h, &supervisor, ADA).await;
    post(
        &h.ctx,
        "/api/admin/admins",
        &supervisor,
        Some(&json!({"username": "kim", "password": "kims own password", "role": "admin"})),
    )
    .await;
    post(&h.ctx, "/api/admin/admins/kim/disable", &supervisor, None).await;
    post(&h.ctx, "/api/admin/admins/kim/enable", &supervisor, None).await;
    post(
        &h.ctx,
        "/api/admin/admins/kim/password",
        &supervisor,
        Some(&json!({"password": "kims new password"})),
    )
    .await;
    post(
        &h.ctx,
        "/api/admin/canned-replies",
        &jane,
        Some(&json!({"shortcut": "hi", "text": "secret canned text"})),
    )
    .await;
    delete(&h.ctx, "/api/admin/canned-replies/hi", &jane).await;

    let all = audit(&h, &supervisor, "?limit=200").await;
    let mut seen = actions(&all);
    seen.sort();
    seen.dedup();
    let mut every: Vec<&str> = edubot_adapters::team::AuditAction::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    every.sort();
    assert_eq!(seen, every, "every action of DESIGN §15 is recorded");
    let text = serde_json::to_string(&all).unwrap();
    for secret in ["secret", "kims own", "kims new", "argon2", ADMIN_PASSWORD] {
        assert!(!text.contains(secret), "{secret:?} in the audit log");
    }
    // Newest first, each with its shape.
    let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let assign_entry = all.iter().find(|e| e["action"] == "assign").unwrap();
    assert_eq!(assign_entry["admin"], ADMIN);
    assert_eq!(assign_entry["phone"], ADA);
    assert_eq!(assign_entry["detail"], format!("to {ADMIN}"));

    // Filters: by admin, by conversation, both; pages with a cursor.
    let janes = audit(&h, &supervisor, "?admin=jane").await;
    assert_eq!(
        actions(&janes),
        [
            "canned_reply_delete",
            "canned_reply_create",
            "note",
            "send",
            "login_failed"
        ]
    );
    let adas = audit(&h, &supervisor, &format!("?phone={ADA}")).await;
    assert_eq!(
        actions(&adas),
        ["end_chat", "template", "assign", "note", "send"]
    );
    let janes_on_ada = audit(&h, &supervisor, &format!("?phone={ADA}&admin=jane")).await;
    assert_eq!(actions(&janes_on_ada), ["note", "send"]);
    let (status, first) = get(&h.ctx, "/api/admin/audit?limit=3", &supervisor).await;
    assert_eq!(status, 200);
    let cursor = first["next_cursor"].as_str().unwrap();
    let cursor: String = url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
    let (_, second) = get(
        &h.ctx,
        &format!("/api/admin/audit?limit=3&cursor={cursor}"),
        &supervisor,
    )
    .await;
    let paged: Vec<Value> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["entries"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(paged, all[..6].to_vec());
    // A cursor of another admin's entry, given with an admin filter.
    assert_eq!(first["entries"][2]["admin"], ADMIN);
    let elsewhere = format!("?admin=jane&cursor={cursor}");
    for query in [
        "?phone=12",
        "?admin=NOT%20A%20NAME",
        "?cursor=nope",
        "?limit=0",
        elsewhere.as_str(),
    ] {
        let (status, body) = get(&h.ctx, &format!("/api/admin/audit{query}"), &supervisor).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{query}"
        );
    }
}

// ---- upgrading -----------------------------------------------------------------------------

async fn listed(h: &Harness) -> Vec<String> {
    edubot_app::ports::AdminStore::list_admins(&h.ctx.store)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect()
}

#[tokio::test]
async fn the_backfill_brings_items_from_before_the_team_desk_up_to_it_once() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    in_support(&h, ADA).await;
    // As stored before: an account without the team list's keys, a conversation in support
    // without search entries or holder keys.
    let client = h.ctx.store.client();
    let table = h.ctx.store.table();
    for (pk, sk, remove) in [
        ("ADMIN#old.timer".to_owned(), "#", "REMOVE gsi2pk, gsi2sk"),
        (
            format!("CONV#{ADA}"),
            "#META",
            "REMOVE search_words, gsi2pk, gsi2sk",
        ),
    ] {
        if pk.starts_with("ADMIN#") {
            h.account_token("old.timer", Role::Admin).await;
        }
        client
            .update_item()
            .table_name(table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
            .update_expression(remove)
            .send()
            .await
            .unwrap();
    }
    for q in ["SEARCH#P#4", "SEARCH#N#a"] {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(q.into()))
            .send()
            .await
            .unwrap();
        for item in out.items.unwrap_or_default() {
            client
                .delete_item()
                .table_name(table)
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(listed(&h).await, [ADMIN]);
    assert!(phones_of(&search(&h, &token, ADA).await.1).is_empty());
    let unassigned = get(&h.ctx, "/api/admin/conversations?filter=unassigned", &token)
        .await
        .1;
    assert!(phones_of(&unassigned).is_empty());

    let mut pages = 0;
    let done = h.ctx.store.backfill_team(|_| pages += 1).await.unwrap();
    assert!(pages >= 1, "progress after each page");
    assert_eq!(
        (done.admins_listed, done.conversations_indexed),
        (1, 1),
        "{done:?}"
    );
    assert_eq!(listed(&h).await, [ADMIN, "old.timer"]);
    assert_eq!(phones_of(&search(&h, &token, ADA).await.1), [ADA]);
    let unassigned = get(&h.ctx, "/api/admin/conversations?filter=unassigned", &token)
        .await
        .1;
    assert_eq!(phones_of(&unassigned), [ADA]);
    // Again: nothing left to do.
    let again = h.ctx.store.backfill_team(|_| {}).await.unwrap();
    assert_eq!((again.admins_listed, again.conversations_indexed), (0, 0));
}
