//! The simulator's Graph stand-in takes admins' files as Meta does: a media send with a
//! `link` is checked, the link fetched (a plain GET), the bytes held on the simulated
//! phone and listed for the page; a link that fails is Meta's error 131053 and nothing
//! reaches the user. Run against a bare simulator (its webhook caught by a tiny server,
//! the links served by another), and once through a whole stack with a presigned link of
//! its S3 server (moto).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use edubot_local::simulator::{Faults, Simulator};
use serde_json::{json, Value};

const PHONE_NUMBER_ID: &str = "100000000000001";
const TOKEN: &str = "sim-test-token";
const USER: &str = "447700900555";

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// A PNG's worth of bytes (every byte value, so nothing is lost in transit unnoticed).
fn photo() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..70_000u32).map(|i| (i * 7 % 256) as u8));
    bytes
}

fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..20_000u32).map(|i| (i % 256) as u8));
    bytes
}

/// Where the admins' files are: each fetch counted.
struct Links {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Links {
    async fn start() -> Links {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = |hits: &Arc<AtomicUsize>, body: (&'static str, Vec<u8>)| {
            let hits = hits.clone();
            move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                ([(header::CONTENT_TYPE, body.0)], body.1).into_response()
            }
        };
        let missing = {
            let hits = hits.clone();
            move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (StatusCode::NOT_FOUND, "NoSuchKey").into_response()
            }
        };
        let router = Router::new()
            .route("/photo.png", get(counted(&hits, ("image/png", photo()))))
            .route(
                "/timetable.pdf",
                get(counted(&hits, ("application/pdf", pdf()))),
            )
            .route(
                "/voice.ogg",
                get(counted(&hits, ("audio/ogg; codecs=opus", vec![1; 900]))),
            )
            .route(
                "/clip.mp4",
                get(counted(&hits, ("video/mp4", vec![2; 1200]))),
            )
            .route(
                "/animation.gif",
                get(counted(&hits, ("image/gif", vec![3; 100]))),
            )
            .route(
                "/huge.jpg",
                get(counted(&hits, ("image/jpeg", vec![4; 5 * 1024 * 1024 + 1]))),
            )
            .route("/gone", get(missing));
        Links {
            addr: serve(router).await,
            hits,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
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

    /// `POST /{phone_number_id}/messages` as the desk sends it.
    async fn graph_send(&self, request: Value) -> (u16, Value) {
        graph_send(&self.http, &self.url, TOKEN, request).await
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    async fn user_view(&self) -> Vec<Value> {
        let view: Value = serde_json::from_str(
            &self
                .get(&format!("/simulator/api/messages?phone={USER}"))
                .await
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        view["messages"].as_array().unwrap().clone()
    }

    /// The statuses posted so far, as (wamid, status, the whole status object).
    fn statuses(&self) -> Vec<(String, String, Value)> {
        self.webhooks
            .lock()
            .unwrap()
            .iter()
            .flat_map(|w| {
                w["entry"][0]["changes"][0]["value"]["statuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|s| {
                (
                    s["id"].as_str().unwrap_or("").to_owned(),
                    s["status"].as_str().unwrap_or("").to_owned(),
                    s,
                )
            })
            .collect()
    }

    async fn wait_for_status(&self, wamid: &str, status: &str) -> Value {
        let started = Instant::now();
        loop {
            if let Some((_, _, s)) = self
                .statuses()
                .into_iter()
                .find(|(id, st, _)| id == wamid && st == status)
            {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no {status} status for {wamid}: {:?}",
                self.statuses()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn graph_send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    request: Value,
) -> (u16, Value) {
    let response = http
        .post(format!("{base}/simulator/graph/{PHONE_NUMBER_ID}/messages"))
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

fn media_send(kind: &str, object: Value, callback: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "biz_opaque_callback_data": callback,
        "type": kind,
        kind: object,
    })
}

fn wamid(answer: &Value) -> String {
    answer["messages"][0]["id"]
        .as_str()
        .expect("a wamid")
        .to_owned()
}

#[tokio::test]
async fn a_media_send_by_link_is_fetched_held_byte_exact_and_listed() {
    let bench = Bench::start().await;
    let links = Links::start().await;

    let (status, answer) = bench
        .graph_send(media_send(
            "image",
            json!({"link": links.url("/photo.png"), "caption": "Your receipt, stamped"}),
            "msg-image",
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    let image_wamid = wamid(&answer);
    assert_eq!(answer["contacts"][0]["wa_id"], USER);
    let (status, answer) = bench
        .graph_send(media_send(
            "document",
            json!({"link": links.url("/timetable.pdf"), "caption": "Autumn term", "filename": "Timetable autumn é.pdf"}),
            "msg-doc",
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    let document_wamid = wamid(&answer);
    for (kind, path) in [("audio", "/voice.ogg"), ("video", "/clip.mp4")] {
        let (status, answer) = bench
            .graph_send(media_send(kind, json!({"link": links.url(path)}), kind))
            .await;
        assert_eq!(status, 200, "{kind}: {answer}");
    }
    assert_eq!(links.hits(), 4, "each link fetched once");

    // The stand-in's record: what reached the user, with the bytes it fetched.
    let delivered = bench.sim.delivered();
    assert_eq!(delivered.len(), 4);
    let image = &delivered[0];
    assert_eq!(image.wamid, image_wamid);
    assert_eq!(image.callback.as_deref(), Some("msg-image"));
    let file = image.file.as_ref().expect("the image's file");
    assert_eq!(file.bytes.as_ref(), photo().as_slice(), "byte-exact");
    assert_eq!(file.mime_type, "image/png");
    let document = delivered[1].file.as_ref().expect("the document's file");
    assert_eq!(document.bytes.as_ref(), pdf().as_slice());
    assert_eq!(document.filename.as_deref(), Some("Timetable autumn é.pdf"));

    // Delivered as a text is: its status webhook, with our message id.
    let status = bench.wait_for_status(&image_wamid, "delivered").await;
    assert_eq!(status["biz_opaque_callback_data"], "msg-image");
    assert_eq!(status["recipient_id"], USER);
    bench.wait_for_status(&document_wamid, "delivered").await;

    // The page's view: each file with an address of this origin, served byte-exact.
    let view = bench.user_view().await;
    assert_eq!(view.len(), 4);
    assert_eq!(view[0]["from"], "business");
    assert_eq!(
        view[0]["message"]["image"]["caption"],
        "Your receipt, stamped"
    );
    assert_eq!(view[0]["file"]["mime_type"], "image/png");
    assert_eq!(view[0]["file"]["size"], photo().len());
    let url = view[0]["file"]["url"].as_str().unwrap();
    assert!(url.starts_with("/simulator/files/"), "{url}");
    let served = bench.get(url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(
        served.headers().get("content-disposition").is_none(),
        "an image is shown in place"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), photo().as_slice());

    assert_eq!(view[1]["file"]["filename"], "Timetable autumn é.pdf");
    let served = bench.get(view[1]["file"]["url"].as_str().unwrap()).await;
    assert_eq!(served.headers()["content-type"], "application/pdf");
    let disposition = served.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Timetable%20autumn%20%C3%A9.pdf"),
        "{disposition}"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), pdf().as_slice());
    assert_eq!(view[2]["file"]["mime_type"], "audio/ogg; codecs=opus");
    assert_eq!(view[3]["message"]["type"], "video");
}

#[tokio::test]
async fn a_link_that_fails_is_metas_media_upload_error_and_nothing_reaches_the_user() {
    let bench = Bench::start().await;
    let links = Links::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let bad = [
        ("image", links.url("/gone"), "HTTP 404"),
        (
            "document",
            format!("http://{closed}/timetable.pdf"),
            "failed",
        ),
        ("image", links.url("/animation.gif"), "image/gif"),
        ("image", links.url("/huge.jpg"), "5 MB"),
        ("document", links.url("/photo.png"), "image/png"),
    ];
    for (kind, link, why) in bad {
        let (status, answer) = bench
            .graph_send(media_send(kind, json!({"link": link}), "msg-bad"))
            .await;
        assert_eq!(status, 400, "{link}: {answer}");
        assert_eq!(answer["error"]["code"], 131053, "{answer}");
        assert_eq!(answer["error"]["message"], "(#131053) Media upload error");
        let details = answer["error"]["error_data"]["details"].as_str().unwrap();
        assert!(details.contains(why), "{link}: {details}");
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(bench.sim.delivered().is_empty(), "nothing reached the user");
    assert!(
        bench.statuses().is_empty(),
        "no status: {:?}",
        bench.statuses()
    );
    assert!(bench.user_view().await.is_empty());
}

#[tokio::test]
async fn media_sends_are_checked_as_meta_checks_them_before_any_fetch() {
    let bench = Bench::start().await;
    let links = Links::start().await;
    let photo = links.url("/photo.png");
    let refused = [
        (
            "audio",
            json!({"link": links.url("/voice.ogg"), "caption": "listen"}),
            "caption",
        ),
        (
            "image",
            json!({"link": photo, "filename": "receipt.png"}),
            "filename",
        ),
        ("image", json!({"caption": "no link"}), "link"),
        ("image", json!({"link": "ftp://example.com/a.png"}), "link"),
        ("image", json!({"link": "not a url"}), "link"),
        (
            "image",
            json!({"link": photo, "caption": "x".repeat(1025)}),
            "1024",
        ),
        ("image", json!({"id": "1234567890"}), "id"),
        (
            "document",
            json!({"link": links.url("/timetable.pdf"), "filename": ""}),
            "filename",
        ),
        ("video", json!("http://example.com/clip.mp4"), "object"),
    ];
    for (kind, object, why) in refused {
        let (status, answer) = bench
            .graph_send(media_send(kind, object.clone(), "msg-refused"))
            .await;
        assert_eq!(status, 400, "{object}: {answer}");
        assert_eq!(answer["error"]["code"], 100, "{answer}");
        let details = answer["error"]["error_data"]["details"].as_str().unwrap();
        assert!(details.contains(why), "{object}: {details}");
    }
    assert_eq!(links.hits(), 0, "nothing refused was fetched");
    assert!(bench.sim.delivered().is_empty());

    // At the limit, taken.
    let (status, answer) = bench
        .graph_send(media_send(
            "image",
            json!({"link": photo, "caption": "é".repeat(1024)}),
            "msg-long",
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn with_link_failures_on_webhook_a_bad_link_is_answered_then_failed_as_meta_does() {
    let bench = Bench::start().await;
    let links = Links::start().await;
    bench.sim.set_link_failures_on_webhook(true);
    let (status, answer) = bench
        .graph_send(media_send(
            "image",
            json!({"link": links.url("/gone")}),
            "msg-late",
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    let failed = bench.wait_for_status(&wamid(&answer), "failed").await;
    assert_eq!(failed["biz_opaque_callback_data"], "msg-late");
    assert_eq!(failed["errors"][0]["code"], 131053);
    assert_eq!(failed["errors"][0]["title"], "Media upload error");
    assert!(bench.sim.delivered().is_empty());

    let (status, answer) = bench
        .graph_send(media_send(
            "image",
            json!({"link": links.url("/photo.png")}),
            "msg-ok",
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    bench.wait_for_status(&wamid(&answer), "delivered").await;
    let delivered = bench.sim.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].file.as_ref().unwrap().bytes.as_ref(),
        photo().as_slice()
    );
}

#[tokio::test]
async fn faults_fail_media_sends_as_they_fail_texts() {
    let bench = Bench::start().await;
    let links = Links::start().await;
    bench.sim.set_faults(Faults {
        server_error: 1.0,
        ..Faults::default()
    });
    let (status, answer) = bench
        .graph_send(media_send(
            "image",
            json!({"link": links.url("/photo.png")}),
            "m1",
        ))
        .await;
    assert_eq!(status, 500, "{answer}");
    let text = json!({"messaging_product": "whatsapp", "to": USER, "type": "text", "text": {"body": "hi"}});
    let (status, _) = bench.graph_send(text).await;
    assert_eq!(status, 503, "the second fault, as for any send");
    assert_eq!(links.hits(), 0, "a refused send fetches nothing");

    // Timed out, and accepted: the file reached the user all the same.
    bench.sim.set_faults(Faults {
        timeout: 1.0,
        timeout_accepted: 1.0,
        slow_by: Duration::from_millis(50),
        ..Faults::default()
    });
    let (status, _) = bench
        .graph_send(media_send(
            "image",
            json!({"link": links.url("/photo.png")}),
            "m2",
        ))
        .await;
    assert_eq!(status, 200);
    let counts = bench.sim.fault_counts();
    assert_eq!(
        (counts.sends, counts.server_errors, counts.timeouts_accepted),
        (3, 2, 1)
    );
    let delivered = bench.sim.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].answer,
        edubot_local::simulator::Answer::TimedOut
    );
    assert_eq!(
        delivered[0].file.as_ref().unwrap().bytes.as_ref(),
        photo().as_slice()
    );
}

#[tokio::test]
async fn the_users_own_files_are_on_the_phone_sandboxed_and_seekable() {
    let bench = Bench::start().await;
    let send = |filename: &str, mime_type: &str, bytes: &[u8]| {
        json!({"phone": USER, "name": "Sim", "caption": "see", "file": {
            "filename": filename, "mime_type": mime_type,
            "data_base64": base64::engine::general_purpose::STANDARD.encode(bytes)}})
    };
    for body in [
        send("receipt.png", "image/png", &photo()),
        send("page.html", "text/html", b"<script>alert(1)</script>"),
    ] {
        let response = bench
            .http
            .post(format!("{}/simulator/api/send", bench.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let view = bench.user_view().await;
    assert_eq!(view[0]["from"], "user");
    assert_eq!(view[0]["message"]["type"], "image");
    let media_id = view[0]["message"]["image"]["id"].as_str().unwrap();
    assert_eq!(
        view[0]["file"]["id"], media_id,
        "the phone's copy is the file Meta holds"
    );
    let url = view[0]["file"]["url"].as_str().unwrap();

    let part = bench
        .http
        .get(format!("{}{url}", bench.url))
        .header("range", "bytes=8-15")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 8-15/{}", photo().len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &photo()[8..16]);

    let page = bench.get(view[1]["file"]["url"].as_str().unwrap()).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("sandbox;") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        page.headers()["content-disposition"],
        "attachment; filename=\"page.html\"; filename*=UTF-8''page.html"
    );

    assert_eq!(bench.get("/simulator/files/1").await.status(), 404);
    // Meta's endpoints still want the token.
    assert_eq!(
        bench
            .get(&format!("/simulator/media/{media_id}"))
            .await
            .status(),
        401
    );
}

/// The whole stack (DynamoDB Local and moto's S3 server, as `make run` starts them): a
/// presigned link of its S3 server, as the desk sends one, reaches the phone byte-exact and
/// the page's routes serve it beside the simulator's own files.
#[tokio::test]
async fn a_presigned_link_of_the_stacks_s3_server_reaches_the_phone() {
    let store = edubot_local::ObjectStore::start().await.unwrap();
    let stack = edubot_local::LocalStack::start(edubot_local::Settings {
        port: 0,
        data_dir: None,
        dynamodb_endpoint: None,
        s3_endpoint: Some(store.endpoint.clone()),
        env: Default::default(),
        static_dir: edubot_local::static_site::default_dir(),
    })
    .await
    .unwrap();
    let s3 = edubot_local::object_store::s3_client(&store.endpoint);
    let bucket = &stack.context.config.media_bucket;
    s3.put_object()
        .bucket(bucket)
        .key("media/447700900555/timetable")
        .content_type("application/pdf")
        .body(pdf().into())
        .send()
        .await
        .unwrap();
    let presign = |key: &'static str| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            s3.get_object()
                .bucket(bucket)
                .key(key)
                .presigned(
                    aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300))
                        .unwrap(),
                )
                .await
                .unwrap()
                .uri()
                .to_owned()
        }
    };
    let http = reqwest::Client::new();
    let token = stack
        .context
        .config
        .whatsapp_access_token
        .expose()
        .to_owned();
    let (status, answer) = graph_send(
        &http,
        &stack.url(),
        &token,
        media_send(
            "document",
            json!({"link": presign("media/447700900555/timetable").await, "filename": "Timetable.pdf"}),
            "msg-s3",
        ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = graph_send(
        &http,
        &stack.url(),
        &token,
        media_send(
            "document",
            json!({"link": presign("media/447700900555/none").await}),
            "msg-none",
        ),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (400, &json!(131053)),
        "{answer}"
    );

    let delivered = stack.simulator.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].file.as_ref().unwrap().bytes.as_ref(),
        pdf().as_slice()
    );
    let view: Value = serde_json::from_str(
        &http
            .get(format!(
                "{}/simulator/api/messages?phone={USER}",
                stack.url()
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let url = view["messages"][0]["file"]["url"].as_str().unwrap();
    let served = http
        .get(format!("{}{url}", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/pdf");
    assert_eq!(served.bytes().await.unwrap().as_ref(), pdf().as_slice());
    // The page itself is still served beside the files.
    let page = http
        .get(format!("{}/simulator/app.js", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}
