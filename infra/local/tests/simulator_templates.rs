//! The simulator's Graph stand-in lists the account's message templates as Meta does
//! (paged, `status` and `fields` honoured, `next` on the same host) and checks template
//! sends against them (132001, 132000); it takes read receipts and typing indicators
//! (recorded, shown to the user), keeps a send's `context`; and the simulated user's
//! quick-reply taps, replies and reactions post the webhooks Meta posts. Real HTTP against
//! a bare simulator, its webhooks caught by a tiny server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use edubot_local::simulator::{
    ReadCall, Simulator, BUSINESS_ACCOUNT_ID, BUSINESS_DISPLAY_NUMBER, TYPING_SHOWN_FOR,
};
use serde_json::{json, Value};

const PHONE_NUMBER_ID: &str = "100000000000001";
const TOKEN: &str = "sim-test-token";
const USER: &str = "447700900777";
const FIELDS: &str = "name,language,status,category,parameter_format,components";

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// A simulator on its own, its webhooks caught.
struct Bench {
    sim: Arc<Simulator>,
    url: String,
    webhooks: Arc<Mutex<Vec<Value>>>,
    http: reqwest::Client,
}

impl Bench {
    async fn start() -> Bench {
        let webhooks = Arc::new(Mutex::new(Vec::new()));
        let catcher = Router::new()
            .route(
                "/webhook",
                post(
                    |State(caught): State<Arc<Mutex<Vec<Value>>>>, body: Bytes| async move {
                        caught
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        StatusCode::OK
                    },
                ),
            )
            .with_state(webhooks.clone());
        let catcher = serve(catcher).await;
        let sim = Simulator::new(
            PHONE_NUMBER_ID,
            TOKEN,
            "sim-test-secret",
            format!("http://{catcher}/webhook"),
        );
        let addr = serve(sim.router()).await;
        Bench {
            sim,
            url: format!("http://{addr}"),
            webhooks,
            http: reqwest::Client::new(),
        }
    }

    /// `POST /{phone_number_id}/messages` with the token.
    async fn graph_post(&self, request: Value) -> (u16, Value) {
        self.graph_post_as(TOKEN, request).await
    }

    async fn graph_post_as(&self, token: &str, request: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!(
                "{}/simulator/graph/{PHONE_NUMBER_ID}/messages",
                self.url
            ))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(request.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(&response.text().await.unwrap()).unwrap(),
        )
    }

    /// A GET of an absolute URL, with the token as the desk sends it (or none).
    async fn graph_get(&self, url: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(&response.text().await.unwrap()).unwrap(),
        )
    }

    fn listing_url(&self, query: &str) -> String {
        format!(
            "{}/simulator/graph/{BUSINESS_ACCOUNT_ID}/message_templates?{query}",
            self.url
        )
    }

    /// The simulated user does something on the page (`POST /simulator/api/send`).
    async fn user(&self, body: Value) -> (u16, Value) {
        let mut body = body;
        body["phone"] = USER.into();
        body["name"] = "Ada Student".into();
        let response = self
            .http
            .post(format!("{}/simulator/api/send", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(&response.text().await.unwrap()).unwrap(),
        )
    }

    /// The user sends a text; answers its wamid.
    async fn user_text(&self, text: &str) -> String {
        let (status, sent) = self.user(json!({ "text": text })).await;
        assert_eq!(
            (status, &sent["webhook_status"]),
            (200, &json!(200)),
            "{sent}"
        );
        sent["wamid"].as_str().unwrap().to_owned()
    }

    /// What the page shows: `{"messages":[…],"typing":bool}`.
    async fn view(&self) -> Value {
        let response = self
            .http
            .get(format!("{}/simulator/api/messages?phone={USER}", self.url))
            .send()
            .await
            .unwrap();
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    async fn shown(&self) -> Vec<Value> {
        self.view().await["messages"].as_array().unwrap().clone()
    }

    /// The user's messages posted to the webhook so far.
    fn user_messages(&self) -> Vec<Value> {
        self.webhooks
            .lock()
            .unwrap()
            .iter()
            .flat_map(|w| {
                w["entry"][0]["changes"][0]["value"]["messages"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    fn user_message(&self, wamid: &str) -> Value {
        self.user_messages()
            .into_iter()
            .find(|m| m["id"] == wamid)
            .unwrap_or_else(|| panic!("no webhook for {wamid}: {:?}", self.user_messages()))
    }

    async fn wait_for_status(&self, wamid: &str, status: &str) -> Value {
        let started = Instant::now();
        loop {
            let found = self
                .webhooks
                .lock()
                .unwrap()
                .iter()
                .flat_map(|w| {
                    w["entry"][0]["changes"][0]["value"]["statuses"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .find(|s| s["id"] == wamid && s["status"] == status);
            if let Some(s) = found {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no {status} status for {wamid}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn template_send(template: Value) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "biz_opaque_callback_data": "msg-template",
        "type": "template",
        "template": template,
    })
}

fn body_parameters(texts: &[&str]) -> Value {
    json!({ "type": "body", "parameters": texts.iter().map(|t| json!({"type": "text", "text": t})).collect::<Vec<_>>() })
}

fn text_send(body: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": USER,
        "type": "text", "text": {"body": body, "preview_url": false}})
}

fn wamid(answer: &Value) -> String {
    answer["messages"][0]["id"]
        .as_str()
        .expect("a wamid")
        .to_owned()
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["name"].as_str().unwrap(),
                t["language"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_template_listing_is_paged_approved_only_and_next_stays_on_the_host() {
    let bench = Bench::start().await;
    let first = bench.listing_url(&format!("status=APPROVED&fields={FIELDS}"));

    // Followed page by page, as the desk does.
    let mut url = first.clone();
    let mut listed = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = bench.graph_get(&url, Some(TOKEN)).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        assert!(page["data"].as_array().unwrap().len() <= 2, "{page}");
        for t in page["data"].as_array().unwrap() {
            assert_eq!(t["status"], "APPROVED", "{t}");
            assert_eq!(t["parameter_format"], "POSITIONAL");
            assert!(t["id"].is_string() && t["components"].is_array(), "{t}");
        }
        listed.extend(names(&page));
        let cursors = &page["paging"]["cursors"];
        assert!(cursors["before"].is_string() && cursors["after"].is_string());
        match page["paging"]["next"].as_str() {
            Some(next) => {
                let prefix = format!(
                    "{}/simulator/graph/{BUSINESS_ACCOUNT_ID}/message_templates?",
                    bench.url
                );
                assert!(next.starts_with(&prefix), "{next}");
                let next_url = url::Url::parse(next).unwrap();
                let query: Vec<(String, String)> = next_url.query_pairs().into_owned().collect();
                let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
                assert_eq!(get("status").as_deref(), Some("APPROVED"));
                assert_eq!(get("fields").as_deref(), Some(FIELDS));
                assert_eq!(get("after").as_deref(), cursors["after"].as_str());
                url = next.to_owned();
            }
            None => break,
        }
        assert!(pages < 10, "paging never ends");
    }
    assert_eq!(pages, 3, "6 approved templates, 2 to a page");
    assert_eq!(
        listed,
        [
            "welcome_back:en_US",
            "support_followup:en_US",
            "feedback_rating:en_US",
            "support_followup:es",
            "course_poster:en_US",
            "login_code:en_US"
        ]
    );

    // The whole first page, as Meta lists it.
    let (_, page) = bench.graph_get(&first, Some(TOKEN)).await;
    let followup = &page["data"][1];
    assert_eq!(followup["category"], "UTILITY");
    assert_eq!(followup["components"][0]["type"], "BODY");
    assert_eq!(
        followup["components"][0]["text"],
        "Hi {{1}}, about your question on {{2}}: our team has an update for you. Reply to continue the conversation."
    );
    let (_, page) = bench
        .graph_get(
            &bench.listing_url(&format!("status=APPROVED&fields={FIELDS}&limit=4")),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        4,
        "limit is honoured"
    );
    let rating = &page["data"][2];
    assert_eq!(rating["name"], "feedback_rating");
    assert_eq!(
        rating["components"][1],
        json!({"type": "BUTTONS", "buttons": (["1", "2", "3", "4", "5"].map(|t| json!({"type": "QUICK_REPLY", "text": t})))})
    );

    // Without the status filter every template is listed, the unapproved ones too.
    let mut url = bench.listing_url("fields=name,language,status&limit=3");
    let mut all = Vec::new();
    loop {
        let (status, page) = bench.graph_get(&url, Some(TOKEN)).await;
        assert_eq!(status, 200, "{page}");
        for t in page["data"].as_array().unwrap() {
            assert!(t.get("components").is_none(), "only the fields asked: {t}");
            all.push((
                t["name"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            ));
        }
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(all.len(), 8);
    assert!(all.contains(&("spring_offer".into(), "PENDING".into())));
    assert!(all.contains(&("promo_blast".into(), "REJECTED".into())));

    // Meta's errors: no token, another account.
    let (status, error) = bench.graph_get(&first, None).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (401, &json!(190)),
        "{error}"
    );
    let (status, error) = bench.graph_get(&first, Some("wrong-token")).await;
    assert_eq!(status, 401, "{error}");
    let (status, error) = bench
        .graph_get(
            &format!(
                "{}/simulator/graph/999/message_templates?status=APPROVED",
                bench.url
            ),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (400, &json!(100)),
        "{error}"
    );
}

#[tokio::test]
async fn a_template_send_with_its_parameters_reaches_the_user_filled_in() {
    let bench = Bench::start().await;
    let (status, answer) = bench
        .graph_post(template_send(json!({
            "name": "support_followup",
            "language": {"code": "en_US"},
            "components": [body_parameters(&["Ada", "fractions"])],
        })))
        .await;
    assert_eq!(status, 200, "{answer}");
    let followup = wamid(&answer);
    assert_eq!(answer["contacts"][0]["wa_id"], USER);
    let delivered = bench.wait_for_status(&followup, "delivered").await;
    assert_eq!(delivered["biz_opaque_callback_data"], "msg-template");

    // With no parameters, no components.
    let (status, answer) = bench
        .graph_post(template_send(
            json!({"name": "welcome_back", "language": {"code": "en_US"}}),
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = bench
        .graph_post(template_send(json!({
            "name": "support_followup",
            "language": {"code": "es"},
            "components": [body_parameters(&["Ada", "fracciones"])],
        })))
        .await;
    assert_eq!(status, 200, "{answer}");

    let shown = bench.shown().await;
    assert_eq!(shown.len(), 3);
    assert_eq!(shown[0]["wamid"], followup.as_str());
    assert_eq!(shown[0]["template"]["name"], "support_followup");
    assert_eq!(
        shown[0]["template"]["body"],
        "Hi Ada, about your question on fractions: our team has an update for you. Reply to continue the conversation."
    );
    assert_eq!(
        shown[1]["template"]["body"],
        "Hello! We have an answer to your question. Reply to this message to continue our chat."
    );
    assert_eq!(
        shown[2]["template"]["body"],
        "Hola Ada, sobre tu pregunta de fracciones: tenemos novedades. Responde para continuar."
    );
    assert_eq!(bench.sim.delivered().len(), 3);
    assert_eq!(bench.sim.delivered()[0].request["type"], "template");
}

#[tokio::test]
async fn template_sends_are_checked_as_meta_checks_them_and_nothing_refused_is_shown() {
    let bench = Bench::start().await;
    let followup = |texts: &[&str]| {
        template_send(
            json!({"name": "support_followup", "language": {"code": "en_US"},
            "components": [body_parameters(texts)]}),
        )
    };
    let refused = [
        (
            followup(&["Ada"]),
            400,
            132000,
            "(1) does not match the expected number of params (2)",
        ),
        (followup(&["Ada", "fractions", "extra"]), 400, 132000, "(3)"),
        (
            template_send(json!({"name": "support_followup", "language": {"code": "en_US"}})),
            400,
            132000,
            "(0)",
        ),
        (
            template_send(
                json!({"name": "welcome_back", "language": {"code": "en_US"},
                "components": [body_parameters(&["Ada"])]}),
            ),
            400,
            132000,
            "expected number of params (0)",
        ),
        (
            template_send(json!({"name": "no_such_template", "language": {"code": "en_US"}})),
            404,
            132001,
            "no_such_template",
        ),
        (
            template_send(json!({"name": "welcome_back", "language": {"code": "fr"}})),
            404,
            132001,
            "fr",
        ),
        (
            template_send(
                json!({"name": "spring_offer", "language": {"code": "en_US"},
                "components": [body_parameters(&["20% off"])]}),
            ),
            404,
            132001,
            "spring_offer",
        ),
        (
            template_send(json!({"name": "promo_blast", "language": {"code": "en_US"}})),
            404,
            132001,
            "promo_blast",
        ),
        (followup(&["Ada", "two\nlines"]), 400, 100, "new-line"),
        (
            followup(&["Ada", "five     spaces"]),
            400,
            100,
            "consecutive spaces",
        ),
        (followup(&["Ada", ""]), 400, 131008, "text"),
        (
            template_send(
                json!({"name": "course_poster", "language": {"code": "en_US"},
                "components": [body_parameters(&["Algebra"])]}),
            ),
            400,
            132012,
            "expected IMAGE",
        ),
        (
            template_send(json!({"name": "welcome_back"})),
            400,
            100,
            "language",
        ),
        (
            template_send(
                json!({"name": "feedback_rating", "language": {"code": "en_US"},
                "components": [{"type": "button", "sub_type": "quick_reply", "index": "5",
                    "parameters": [{"type": "payload", "payload": "x"}]}]}),
            ),
            400,
            100,
            "no button 5",
        ),
    ];
    for (request, http, code, why) in refused {
        let (status, answer) = bench.graph_post(request.clone()).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (http, &json!(code)),
            "{request}: {answer}"
        );
        let details = answer["error"]["error_data"]["details"].as_str().unwrap();
        assert!(details.contains(why), "{request}: {details}");
    }
    let (_, answer) = bench.graph_post(followup(&["Ada"])).await;
    assert_eq!(
        answer["error"]["message"],
        "(#132000) Number of parameters does not match the expected number of params"
    );
    let (_, answer) = bench
        .graph_post(template_send(
            json!({"name": "nope", "language": {"code": "en_US"}}),
        ))
        .await;
    assert_eq!(
        answer["error"]["message"],
        "(#132001) Template name does not exist in the translation"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        bench.sim.delivered().is_empty(),
        "nothing refused reached the user"
    );
    assert!(bench.shown().await.is_empty());
    assert!(
        bench.webhooks.lock().unwrap().is_empty(),
        "no status for a refused send"
    );

    // A media header with its image is taken.
    let (status, answer) = bench
        .graph_post(template_send(json!({"name": "course_poster", "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/poster.jpg"}}]},
                body_parameters(&["Algebra I"])]})))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        bench.shown().await[0]["template"]["header"]["format"],
        "IMAGE"
    );
}

#[tokio::test]
async fn a_quick_reply_tap_posts_a_button_message_with_its_payload_and_context() {
    let bench = Bench::start().await;
    let (status, answer) = bench
        .graph_post(template_send(json!({
            "name": "feedback_rating",
            "language": {"code": "en_US"},
            "components": [
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "rating:1"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "3", "parameters": [{"type": "payload", "payload": "rating:4"}]},
            ],
        })))
        .await;
    assert_eq!(status, 200, "{answer}");
    let rating = wamid(&answer);

    let shown = bench.shown().await;
    assert_eq!(
        shown[0]["template"]["body"],
        "How would you rate the help you got from our support team?"
    );
    let buttons = shown[0]["template"]["buttons"].as_array().unwrap();
    assert_eq!(buttons.len(), 5);
    assert_eq!(buttons[3]["text"], "4");
    assert_eq!(buttons[3]["type"], "QUICK_REPLY");

    let (status, tapped) = bench
        .user(json!({"button": {"message_id": rating, "index": 3}}))
        .await;
    assert_eq!(status, 200, "{tapped}");
    let message = bench.user_message(tapped["wamid"].as_str().unwrap());
    assert_eq!(message["type"], "button");
    assert_eq!(
        message["button"],
        json!({"payload": "rating:4", "text": "4"})
    );
    assert_eq!(
        message["context"],
        json!({"from": BUSINESS_DISPLAY_NUMBER, "id": rating})
    );

    // A button the send set no payload for answers with its text.
    let (_, tapped) = bench
        .user(json!({"button": {"message_id": rating, "index": 1}}))
        .await;
    let message = bench.user_message(tapped["wamid"].as_str().unwrap());
    assert_eq!(message["button"], json!({"payload": "2", "text": "2"}));

    // No such button, or no such template: refused, nothing posted.
    let before = bench.user_messages().len();
    let (status, _) = bench
        .user(json!({"button": {"message_id": rating, "index": 5}}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = bench
        .user(json!({"button": {"message_id": "wamid.nope", "index": 0}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(bench.user_messages().len(), before);
    let shown = bench.shown().await;
    assert_eq!(shown.len(), 3);
    assert_eq!(
        shown[1]["reply_to"],
        rating.as_str(),
        "the tap quotes the template"
    );
}

#[tokio::test]
async fn read_and_typing_calls_are_recorded_and_shown_to_the_user() {
    let bench = Bench::start().await;
    let first = bench.user_text("Hello").await;
    let second = bench.user_text("I have a question").await;
    let third = bench.user_text("about fractions").await;
    let read = |message_id: &str, typing: bool| {
        let mut r =
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id});
        if typing {
            r["typing_indicator"] = json!({"type": "text"});
        }
        r
    };
    let statuses = |shown: &[Value]| -> Vec<String> {
        shown
            .iter()
            .map(|m| m["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(&bench.shown().await), ["delivered"; 3]);

    let (status, answer) = bench.graph_post(read(&second, false)).await;
    assert_eq!((status, &answer), (200, &json!({"success": true})));
    assert_eq!(
        statuses(&bench.shown().await),
        ["read", "read", "delivered"],
        "that one and every earlier one"
    );
    assert_eq!(bench.view().await["typing"], false);

    let (status, answer) = bench.graph_post(read(&third, true)).await;
    assert_eq!((status, &answer), (200, &json!({"success": true})));
    assert_eq!(statuses(&bench.shown().await), ["read"; 3]);
    assert_eq!(bench.view().await["typing"], true, "typing… shown");

    let calls = bench.sim.read_calls();
    let calls: Vec<(String, String, bool)> = calls
        .into_iter()
        .map(
            |ReadCall {
                 phone,
                 message_id,
                 typing,
                 ..
             }| (phone, message_id, typing),
        )
        .collect();
    assert_eq!(
        calls,
        [
            (USER.to_owned(), second.clone(), false),
            (USER.to_owned(), third.clone(), true)
        ]
    );

    // The business's next message ends typing….
    let (status, _) = bench.graph_post(text_send("Here is the answer")).await;
    assert_eq!(status, 200);
    assert_eq!(bench.view().await["typing"], false);
    assert!(TYPING_SHOWN_FOR <= Duration::from_secs(25));

    // An id that is no user's message, the business's own message, a bad indicator,
    // no token: refused, nothing recorded.
    let business = bench.shown().await[3]["wamid"].as_str().unwrap().to_owned();
    for bad in [
        read("wamid.unknown", false),
        read("wamid.unknown", true),
        read(&business, false),
        json!({"messaging_product": "whatsapp", "status": "read"}),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": first, "typing_indicator": {"type": "audio"}}),
        json!({"messaging_product": "whatsapp", "status": "delivered", "message_id": first}),
    ] {
        let (status, answer) = bench.graph_post(bad.clone()).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!(100)),
            "{bad}: {answer}"
        );
    }
    let (status, _) = bench.graph_post_as("wrong", read(&first, true)).await;
    assert_eq!(status, 401);
    assert_eq!(bench.sim.read_calls().len(), 2);
    assert_eq!(bench.view().await["typing"], false);
}

#[tokio::test]
async fn a_sends_context_is_kept_and_shown_as_a_quote() {
    let bench = Bench::start().await;
    let question = bench.user_text("When is the exam?").await;
    let mut reply = text_send("On Friday at 9.");
    reply["context"] = json!({"message_id": question});
    let (status, answer) = bench.graph_post(reply).await;
    assert_eq!(status, 200, "{answer}");

    let delivered = bench.sim.delivered();
    assert_eq!(
        delivered[0].request["context"]["message_id"],
        question.as_str()
    );
    let shown = bench.shown().await;
    assert_eq!(shown[1]["wamid"], wamid(&answer).as_str());
    assert_eq!(shown[1]["reply_to"], question.as_str());
    assert_eq!(shown[0]["reply_to"], Value::Null);

    let mut bad = text_send("No id");
    bad["context"] = json!({"message_id": ""});
    let (status, answer) = bench.graph_post(bad).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (400, &json!(100)),
        "{answer}"
    );
    assert_eq!(bench.sim.delivered().len(), 1);
}

#[tokio::test]
async fn a_users_reply_carries_context_to_the_quoted_message() {
    let bench = Bench::start().await;
    let (_, answer) = bench.graph_post(text_send("Which course?")).await;
    let asked = wamid(&answer);
    let (status, sent) = bench
        .user(json!({"text": "Algebra", "context": asked}))
        .await;
    assert_eq!(status, 200, "{sent}");
    let own = sent["wamid"].as_str().unwrap().to_owned();
    let message = bench.user_message(&own);
    assert_eq!(message["text"]["body"], "Algebra");
    assert_eq!(
        message["context"],
        json!({"from": BUSINESS_DISPLAY_NUMBER, "id": asked})
    );

    // A reply to the user's own message quotes them.
    let (_, sent) = bench
        .user(json!({"text": "I mean Algebra I", "context": own}))
        .await;
    let message = bench.user_message(sent["wamid"].as_str().unwrap());
    assert_eq!(message["context"], json!({"from": USER, "id": own}));

    // A tapped choice quotes the message that offered it.
    let mut menu = json!({"messaging_product": "whatsapp", "to": USER, "type": "interactive",
        "interactive": {"type": "button", "body": {"text": "Talk to us?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "support", "title": "Support"}}]}}});
    menu["recipient_type"] = "individual".into();
    let (_, answer) = bench.graph_post(menu).await;
    let menu = wamid(&answer);
    let (_, sent) = bench
        .user(json!({"reply": {"id": "support", "title": "Support", "kind": "button_reply"}, "context": menu}))
        .await;
    let message = bench.user_message(sent["wamid"].as_str().unwrap());
    assert_eq!(message["interactive"]["button_reply"]["id"], "support");
    assert_eq!(message["context"]["id"], menu.as_str());

    let shown = bench.shown().await;
    assert_eq!(shown[1]["reply_to"], asked.as_str());
    assert_eq!(shown[2]["reply_to"], own.as_str());

    // A message that is not in this chat cannot be quoted; nothing is posted.
    let before = bench.user_messages().len();
    let (status, _) = bench
        .user(json!({"text": "?", "context": "wamid.elsewhere"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(bench.user_messages().len(), before);
    let plain = bench.user_text("no quote").await;
    assert!(bench.user_message(&plain).get("context").is_none());
}

#[tokio::test]
async fn a_reaction_and_its_removal_post_reaction_webhooks_and_show_on_the_target() {
    let bench = Bench::start().await;
    let (_, answer) = bench.graph_post(text_send("Your exam is on Friday.")).await;
    let target = wamid(&answer);
    let own = bench.user_text("Thanks").await;

    let (status, reacted) = bench
        .user(json!({"reaction": {"message_id": target, "emoji": "👍"}}))
        .await;
    assert_eq!(
        (status, &reacted["webhook_status"]),
        (200, &json!(200)),
        "{reacted}"
    );
    let message = bench.user_message(reacted["wamid"].as_str().unwrap());
    assert_eq!(message["type"], "reaction");
    assert_eq!(
        message["reaction"],
        json!({"message_id": target, "emoji": "👍"})
    );
    assert_eq!(message["from"], USER);
    assert!(message.get("context").is_none());
    let shown = bench.shown().await;
    assert_eq!(shown.len(), 2, "a reaction is no message of its own");
    assert_eq!(shown[0]["reaction"], "👍");

    // Changed, then removed.
    let (_, reacted) = bench
        .user(json!({"reaction": {"message_id": target, "emoji": "❤️"}}))
        .await;
    assert_eq!(
        bench.user_message(reacted["wamid"].as_str().unwrap())["reaction"]["emoji"],
        "❤️"
    );
    let (status, removed) = bench
        .user(json!({"reaction": {"message_id": target, "emoji": ""}}))
        .await;
    assert_eq!(status, 200, "{removed}");
    let message = bench.user_message(removed["wamid"].as_str().unwrap());
    assert_eq!(
        message["reaction"],
        json!({"message_id": target, "emoji": ""})
    );
    assert_eq!(bench.shown().await[0]["reaction"], Value::Null);

    // The user's own message can be reacted to; an unknown one cannot.
    let (status, _) = bench
        .user(json!({"reaction": {"message_id": own, "emoji": "✅"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(bench.shown().await[1]["reaction"], "✅");
    let before = bench.user_messages().len();
    let (status, _) = bench
        .user(json!({"reaction": {"message_id": "wamid.unknown", "emoji": "👍"}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(bench.user_messages().len(), before);
}

/// The stack's own defaults name the account the stand-in lists and the rating template,
/// which the stand-in serves.
#[test]
fn the_local_defaults_name_the_simulators_account_and_an_approved_rating_template() {
    let env = edubot_local::default_env(3000);
    assert_eq!(env["WHATSAPP_BUSINESS_ACCOUNT_ID"], BUSINESS_ACCOUNT_ID);
    let (name, language) = env["SUPPORT_FEEDBACK_TEMPLATE"].split_once(':').unwrap();
    let rating = edubot_local::simulator::templates()
        .iter()
        .find(|t| t["name"] == name && t["language"] == language)
        .expect("the rating template is served");
    assert_eq!(rating["status"], "APPROVED");
    assert_eq!(rating["components"][1]["type"], "BUTTONS");
}

/// The whole stack (DynamoDB Local and moto's S3 server, as `make run` starts them): its
/// stand-in lists the templates of the account its settings name, at the Graph base URL
/// the desk is given, and its `next` links stay on the stack's own host and port.
#[tokio::test]
async fn the_stacks_stand_in_lists_the_templates_of_its_configured_account() {
    let store = edubot_local::ObjectStore::start().await.unwrap();
    let stack = edubot_local::LocalStack::start(edubot_local::Settings {
        port: 0,
        data_dir: None,
        dynamodb_endpoint: None,
        s3_endpoint: Some(store.endpoint.clone()),
        env: [(
            "WHATSAPP_BUSINESS_ACCOUNT_ID".to_owned(),
            "200000000000009".to_owned(),
        )]
        .into(),
        static_dir: edubot_local::static_site::default_dir(),
    })
    .await
    .unwrap();
    let config = &stack.context.config;
    let token = config.whatsapp_access_token.expose().to_owned();
    let http = reqwest::Client::new();
    let get = |url: String| {
        let request = http.get(url).bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                serde_json::from_str::<Value>(&response.text().await.unwrap()).unwrap(),
            )
        }
    };
    let base = &config.whatsapp_api_base_url;
    assert!(base.starts_with(&stack.url()), "{base}");

    let (status, error) = get(format!("{base}/{BUSINESS_ACCOUNT_ID}/message_templates")).await;
    assert_eq!(status, 400, "only the account the settings name: {error}");

    let mut url =
        format!("{base}/200000000000009/message_templates?status=APPROVED&fields={FIELDS}");
    let mut listed = 0;
    loop {
        let (status, page) = get(url).await;
        assert_eq!(status, 200, "{page}");
        listed += page["data"].as_array().unwrap().len();
        match page["paging"]["next"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{base}/200000000000009/message_templates?")),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(listed, 6);
}
