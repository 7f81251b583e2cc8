//! Every flow of the menu-driven bot, end to end through the local stack: the user reads
//! the menus the bot sends (through the Graph API stand-in) and taps what they show, as on
//! WhatsApp; the admin API confirms the state, the history and what admins see.

use std::time::Duration;

use edubot_adapters::content::{content, fill};
use edubot_adapters::enquiry::EmailProblem;
use edubot_adapters::whatsapp::{graph_request, OutboundBody};
use edubot_app::activation::remaining_text;
use edubot_e2e::*;
use edubot_local::LocalStack;
use serde_json::{json, Value};

const WAIT: Duration = E2E_WAIT;

/// What only the bot's tests ask of the admin API.
trait BotAdmin {
    async fn state(&self, phone: &str) -> String;
    async fn notes(&self, phone: &str) -> Vec<String>;
}

impl BotAdmin for StackClient {
    async fn state(&self, phone: &str) -> String {
        self.history(phone).await["conversation"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The system entries of the history, oldest first.
    async fn notes(&self, phone: &str) -> Vec<String> {
        self.history(phone).await["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"] == "system")
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A WhatsApp user: sends texts, and taps only choices the bot has shown them.
struct User<'a> {
    phone: &'a str,
    graph: &'a GraphStandIn,
    admin: &'a StackClient,
    sent: usize,
}

impl<'a> User<'a> {
    fn new(phone: &'a str, graph: &'a GraphStandIn, admin: &'a StackClient) -> User<'a> {
        User {
            phone,
            graph,
            admin,
            sent: 0,
        }
    }

    fn wamid(&mut self) -> String {
        self.sent += 1;
        format!("wamid.{}.{}", self.phone, self.sent)
    }

    /// Posts `payload` and waits for exactly `replies` more messages from the bot.
    async fn post(&mut self, payload: Value, replies: usize) -> Vec<RecordedSend> {
        let before = self.graph.sends_to(self.phone).len();
        assert_eq!(self.admin.webhook(&payload).await, 200);
        let sends = self
            .graph
            .wait_for(self.phone, before + replies, WAIT)
            .await;
        // Nothing more than expected arrives.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let after = self.graph.sends_to(self.phone);
        assert_eq!(after.len(), before + replies, "{:#?}", &after[before..]);
        sends[before..].to_vec()
    }

    async fn says(&mut self, text: &str, replies: usize) -> Vec<RecordedSend> {
        let wamid = self.wamid();
        self.post(user_text(self.phone, &wamid, now_secs(), text), replies)
            .await
    }

    /// Taps the choice `id` of the latest message that offers it; panics when none does.
    async fn taps(&mut self, id: &str, replies: usize) -> Vec<RecordedSend> {
        let sends = self.graph.sends_to(self.phone);
        let offered = sends
            .iter()
            .rev()
            .find_map(|s| title_of(s, id))
            .unwrap_or_else(|| panic!("nothing on screen offers {id}"));
        let wamid = self.wamid();
        self.post(
            user_choice(self.phone, &wamid, now_secs(), id, &offered),
            replies,
        )
        .await
    }

    async fn sends_media(&mut self, replies: usize) -> Vec<RecordedSend> {
        let wamid = self.wamid();
        let payload = edubot_local::simulator::user_message_payload(
            PHONE_NUMBER_ID,
            self.phone,
            "Ada Student",
            &wamid,
            now_secs(),
            json!({"type": "image", "image": {"id": "media-1", "mime_type": "image/jpeg"}}),
        );
        self.post(payload, replies).await
    }
}

/// The title shown for choice `id` in this message, if it offers it.
fn title_of(send: &RecordedSend, id: &str) -> Option<String> {
    let action = &send.body["interactive"]["action"];
    let buttons = action["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| &b["reply"]);
    let rows = action["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["rows"].as_array().into_iter().flatten());
    buttons
        .chain(rows)
        .find(|c| c["id"] == id)
        .and_then(|c| c["title"].as_str().map(str::to_owned))
}

fn main_menu_ids() -> Vec<String> {
    content().menu.rows.iter().map(|r| r.id.clone()).collect()
}

/// Whether `send` is exactly the Graph request for `expected`: the content's text (or the
/// content's template filled in) and its choices, ids and titles.
fn is(send: &RecordedSend, expected: &OutboundBody) -> bool {
    let callback = send.body["biz_opaque_callback_data"]
        .as_str()
        .unwrap_or_default();
    send.body == graph_request(expected, send.to(), callback, None, None)
}

/// The bot's replies are exactly these messages, in this order.
#[track_caller]
fn assert_replies(sends: &[RecordedSend], expected: &[OutboundBody]) {
    assert_eq!(sends.len(), expected.len(), "{sends:#?}");
    for (i, (send, expected)) in sends.iter().zip(expected).enumerate() {
        assert!(
            is(send, expected),
            "reply {i}: sent {:#}, expected {expected:#?}",
            send.body
        );
    }
}

/// A prompt the user answers by typing: the content's template, filled in.
fn prompt(template: &str, values: &[(&str, &str)]) -> OutboundBody {
    content().prompt(fill(template, values))
}

async fn stack() -> (GraphStandIn, LocalStack) {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    (graph, stack)
}

#[tokio::test]
async fn a_user_browses_the_courses_and_sends_an_admission_enquiry() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let mut ada = User::new("447700900123", &graph, &admin);

    let welcome = ada.says("Hi", 2).await;
    assert_eq!(welcome[1].choice_ids(), main_menu_ids());
    assert_replies(
        &welcome,
        &[
            OutboundBody::text(&content().welcome),
            content().main_menu(),
        ],
    );

    // Courses: the catalogue in order, then a Menu row.
    let list = ada.taps("courses", 1).await;
    let mut course_ids: Vec<String> = content()
        .catalogue
        .courses
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert!(course_ids.len() >= 5);
    course_ids.push("menu".into());
    assert_eq!(list[0].choice_ids(), course_ids);
    assert_replies(&list, &[content().course_list()]);
    assert_eq!(admin.state(ada.phone).await, "COURSE_LIST");

    // One course: its details, Apply / Back / Menu.
    let detail = ada.taps("course_data", 1).await;
    let text = detail[0].text().unwrap();
    let course = content().course("course_data").unwrap();
    for part in [
        &course.title,
        &course.duration,
        &course.fees,
        &course.start_date,
    ] {
        assert!(text.contains(part.as_str()), "{text}");
    }
    assert_eq!(
        detail[0].choice_ids(),
        ["apply_course_data", "back_to_courses", "menu"]
    );
    assert_replies(&detail, &[content().course_detail(course)]);
    assert_eq!(admin.state(ada.phone).await, "COURSE_DETAIL");

    // Back to the list, into another course, and Apply.
    ada.taps("back_to_courses", 1).await;
    assert_eq!(admin.state(ada.phone).await, "COURSE_LIST");
    ada.taps("course_web", 1).await;
    let ask_name = ada.taps("apply_course_web", 1).await;
    let web = &content().course("course_web").unwrap().title;
    assert_replies(
        &ask_name,
        &[prompt(
            &content().admission.ask_name_for_course,
            &[("course", web)],
        )],
    );
    assert_eq!(admin.state(ada.phone).await, "ADMISSION_NAME");

    // A one-letter name is refused; the state is kept.
    let refused = ada.says("A", 2).await;
    assert_replies(
        &refused,
        &[
            OutboundBody::text(&content().admission.name_invalid),
            prompt(&content().admission.ask_name_for_course, &[("course", web)]),
        ],
    );
    assert_eq!(admin.state(ada.phone).await, "ADMISSION_NAME");
    let ask_email = ada.says("Ada Lovelace", 1).await;
    assert_replies(
        &ask_email,
        &[prompt(
            &content().admission.ask_email,
            &[("name", "Ada Lovelace")],
        )],
    );
    assert_eq!(admin.state(ada.phone).await, "ADMISSION_EMAIL");

    // A bad address is refused with the reason, the state kept.
    let refused = ada.says("ada@example", 1).await;
    assert_replies(
        &refused,
        &[prompt(
            &content().admission.email_invalid,
            &[("reason", EmailProblem::BadDomain.reason())],
        )],
    );
    assert_eq!(admin.state(ada.phone).await, "ADMISSION_EMAIL");
    let summary = ada.says("ada@example.com", 1).await;
    assert_replies(
        &summary,
        &[content().enquiry_summary(Some(web), "Ada Lovelace", "ada@example.com")],
    );
    assert_eq!(
        summary[0].choice_ids(),
        ["enquiry_confirm", "enquiry_cancel"]
    );
    assert_eq!(admin.state(ada.phone).await, "ADMISSION_CONFIRM");

    let done = ada.taps("enquiry_confirm", 2).await;
    assert_replies(
        &done,
        &[
            OutboundBody::text(fill(
                &content().admission.confirmed,
                &[("email", "ada@example.com")],
            )),
            content().main_menu(),
        ],
    );
    assert_eq!(done[1].choice_ids(), main_menu_ids());

    // The admin sees the enquiry, and where the user went.
    let history = admin.history(ada.phone).await;
    assert_eq!(history["conversation"]["state"], "MAIN_MENU");
    let enquiries = history["enquiries"].as_array().unwrap();
    assert_eq!(enquiries.len(), 1, "{history:#}");
    let newest = history["messages"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, poll) = admin
        .get(&format!(
            "/api/admin/conversations/{}/messages?after={newest}",
            ada.phone
        ))
        .await;
    assert!(
        poll.get("enquiries").is_none(),
        "polling stays at one Query and one GetItem: {poll}"
    );
    assert_eq!(
        (
            enquiries[0]["course_id"].as_str(),
            enquiries[0]["course"].as_str(),
            enquiries[0]["name"].as_str(),
            enquiries[0]["email"].as_str()
        ),
        (
            Some("course_web"),
            Some("Web Development"),
            Some("Ada Lovelace"),
            Some("ada@example.com")
        )
    );
    assert!(enquiries[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let notes = admin.notes(ada.phone).await;
    assert_eq!(
        notes,
        [
            "MAIN_MENU → COURSE_LIST",
            "COURSE_LIST → COURSE_DETAIL: Viewed the course Data Analytics.",
            "COURSE_DETAIL → COURSE_LIST",
            "COURSE_LIST → COURSE_DETAIL: Viewed the course Web Development.",
            "COURSE_DETAIL → ADMISSION_NAME: Applying for Web Development.",
            "ADMISSION_NAME → ADMISSION_EMAIL",
            "Email address refused: the part after the @ is not a domain such as example.com.",
            "ADMISSION_EMAIL → ADMISSION_CONFIRM",
            "ADMISSION_CONFIRM → MAIN_MENU: Admission enquiry sent: Web Development — Ada Lovelace <ada@example.com>.",
        ]
    );
}

#[tokio::test]
async fn an_enquiry_from_the_admissions_row_can_be_cancelled() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let mut bob = User::new("447700900456", &graph, &admin);
    bob.says("hello", 2).await;
    let ask = bob.taps("admissions", 1).await;
    assert_eq!(ask[0].choice_ids(), ["menu"], "a way back");
    assert_replies(
        &ask,
        &[content().prompt(content().admission.ask_name.clone())],
    );
    bob.says("Bob Builder", 1).await;
    let summary = bob.says("bob@example.org", 1).await;
    assert!(summary[0]
        .text()
        .unwrap()
        .contains(&content().admission.no_course));
    let general = content().enquiry_summary(None, "Bob Builder", "bob@example.org");
    assert_replies(&summary, std::slice::from_ref(&general));
    // Free text at the summary asks again; the state is kept.
    let again = bob.says("yes please", 1).await;
    assert_replies(&again, &[general]);
    assert_eq!(admin.state(bob.phone).await, "ADMISSION_CONFIRM");
    let cancelled = bob.taps("enquiry_cancel", 2).await;
    assert_eq!(
        cancelled[0].text(),
        Some(content().admission.cancelled.as_str())
    );
    assert_replies(
        &cancelled,
        &[
            OutboundBody::text(&content().admission.cancelled),
            content().main_menu(),
        ],
    );
    let history = admin.history(bob.phone).await;
    assert_eq!(history["conversation"]["state"], "MAIN_MENU");
    assert_eq!(history["enquiries"], json!([]));

    // "menu" in the middle of an enquiry goes back to the menu, the draft dropped.
    bob.taps("admissions", 1).await;
    bob.says("Bob Builder", 1).await;
    let menu = bob.says("menu", 1).await;
    assert_eq!(menu[0].choice_ids(), main_menu_ids());
    bob.taps("admissions", 1).await;
    assert_eq!(admin.state(bob.phone).await, "ADMISSION_NAME");
}

#[tokio::test]
async fn fees_and_timetable_lead_back_to_the_menu_and_on_to_chat_support() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let mut cy = User::new("447700900789", &graph, &admin);
    cy.says("hi", 2).await;

    let fees = cy.taps("fees", 1).await;
    assert_eq!(fees[0].text(), Some(content().catalogue.fees.body.as_str()));
    assert_eq!(fees[0].choice_ids(), ["menu", "chat_support"]);
    assert_replies(&fees, &[content().info_page(&content().catalogue.fees)]);
    assert_eq!(admin.state(cy.phone).await, "FEES_INFO");
    cy.taps("menu", 1).await;
    assert_eq!(admin.state(cy.phone).await, "MAIN_MENU");

    let timetable = cy.taps("timetable", 1).await;
    assert_eq!(
        timetable[0].text(),
        Some(content().catalogue.timetable.body.as_str())
    );
    assert_replies(
        &timetable,
        &[content().info_page(&content().catalogue.timetable)],
    );
    assert_eq!(admin.state(cy.phone).await, "TIMETABLE");
    let ack = cy.taps("chat_support", 1).await;
    assert_eq!(ack[0].choice_ids(), ["end_chat"]);
    assert_replies(&ack, &[content().support_ack()]);
    assert_eq!(admin.state(cy.phone).await, "CHAT_SUPPORT_ACTIVE");
    assert_eq!(
        admin.notes(cy.phone).await,
        [
            "MAIN_MENU → FEES_INFO",
            "FEES_INFO → MAIN_MENU",
            "MAIN_MENU → TIMETABLE",
            "TIMETABLE → CHAT_SUPPORT_ACTIVE"
        ]
    );
}

#[tokio::test]
async fn unknown_input_media_and_stale_taps_get_help_and_the_menu() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let mut di = User::new("447700900321", &graph, &admin);
    di.says("hi", 2).await;
    for replies in [
        di.says("what is this?", 2).await,
        di.sends_media(2).await,
        // A Confirm button from an old summary, in the main menu.
        di.post(
            user_choice(
                di.phone,
                "wamid.stale.1",
                now_secs(),
                "enquiry_confirm",
                "Confirm",
            ),
            2,
        )
        .await,
        di.post(
            user_choice(
                di.phone,
                "wamid.stale.2",
                now_secs(),
                "course_retired",
                "Old course",
            ),
            2,
        )
        .await,
    ] {
        assert_eq!(replies[0].text(), Some(content().help.as_str()));
        assert_eq!(replies[1].choice_ids(), main_menu_ids());
        assert_replies(
            &replies,
            &[OutboundBody::text(&content().help), content().main_menu()],
        );
    }
    assert_eq!(admin.state(di.phone).await, "MAIN_MENU");

    // A row of the main menu tapped in an old message still works, from anywhere.
    di.taps("fees", 1).await;
    let list = di.taps("courses", 1).await;
    assert!(list[0].choice_ids().contains(&"course_web".to_owned()));
    assert_eq!(admin.state(di.phone).await, "COURSE_LIST");
}

#[tokio::test]
async fn a_student_activates_their_account_with_the_code_an_admin_issued() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let (status, issued) = admin
        .post(
            "/api/admin/activation-codes",
            json!({"student_name": "Jane Doe", "course": "Web Development"}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let code = issued["code"].as_str().unwrap().to_owned();

    let mut jane = User::new("447700900111", &graph, &admin);
    jane.says("hi", 2).await;
    let ask = jane.taps("activate", 1).await;
    assert_eq!(ask[0].choice_ids(), ["menu"]);
    assert_replies(
        &ask,
        &[content().prompt(content().activation.ask_code.clone())],
    );
    assert_eq!(admin.state(jane.phone).await, "ACTIVATION_CODE");
    let wrong = jane.says("WXYZ-9999", 1).await;
    assert_replies(
        &wrong,
        &[prompt(&content().activation.wrong_code, &[("left", "2")])],
    );
    let linked = jane.says(&code.to_lowercase(), 2).await;
    assert_replies(
        &linked,
        &[
            OutboundBody::text(fill(
                &content().activation.linked,
                &[("name", "Jane Doe"), ("course", "Web Development")],
            )),
            content().main_menu(),
        ],
    );
    assert_eq!(linked[1].choice_ids(), main_menu_ids());

    let (_, list) = admin.get("/api/admin/conversations").await;
    let row = &list["conversations"][0];
    assert_eq!(row["phone"], jane.phone);
    assert_eq!(row["state"], "MAIN_MENU");
    assert_eq!(
        row["student"],
        json!({"name": "Jane Doe", "course": "Web Development"})
    );
    let notes = admin.notes(jane.phone).await;
    assert_eq!(notes[1], "Wrong activation code (1 of 3).");
    assert!(notes[2].starts_with("ACTIVATION_CODE → MAIN_MENU: Account activated"));
}

/// The lock-out notice, with what is left of a 10-minute lock (2 to 10 minutes).
#[track_caller]
fn assert_locked_for_minutes(sends: &[RecordedSend]) {
    let notices: Vec<OutboundBody> = (2..=10)
        .map(|m| content().activation_locked(&remaining_text(m * 60 * 1000)))
        .collect();
    assert_eq!(sends.len(), 1, "{sends:#?}");
    assert!(
        notices.iter().any(|n| is(&sends[0], n)),
        "not the lock-out notice with minutes left: {:#}",
        sends[0].body
    );
}

#[tokio::test]
async fn three_wrong_codes_lock_activation_even_after_going_back_to_the_menu() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[("ACTIVATION_LOCK_SECONDS", "600")]).await;
    let admin = StackClient::signed_in(&stack).await;
    let mut eve = User::new("447700900222", &graph, &admin);
    eve.says("hi", 2).await;
    eve.taps("activate", 1).await;
    eve.says("1111", 1).await;
    eve.says("2222", 1).await;
    let locked = eve.says("3333", 1).await;
    assert_replies(
        &locked,
        &[content().activation_locked(&remaining_text(600 * 1000))],
    );
    assert_eq!(locked[0].choice_ids(), ["menu", "chat_support"]);
    assert_eq!(admin.state(eve.phone).await, "ACTIVATION_LOCKED");
    let refused = eve.says("4444", 1).await;
    assert_locked_for_minutes(&refused);

    eve.taps("menu", 1).await;
    assert_eq!(admin.state(eve.phone).await, "MAIN_MENU");
    let again = eve.taps("activate", 1).await;
    assert_locked_for_minutes(&again);
    assert_eq!(admin.state(eve.phone).await, "ACTIVATION_LOCKED");
    let (_, list) = admin.get("/api/admin/conversations").await;
    assert!(list["conversations"][0]["activation_locked_until"].is_string());
}

#[tokio::test]
async fn after_chat_support_the_user_rates_it_and_the_dashboard_averages_the_week() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let (_, dashboard) = admin.get("/api/admin/dashboard").await;
    assert_eq!(dashboard["average_rating_7d"], Value::Null);

    // Ended by the admin: rated 4 by tapping.
    let mut fay = User::new("447700900333", &graph, &admin);
    fay.says("hi", 2).await;
    fay.taps("chat_support", 1).await;
    let before = graph.sends_to(fay.phone).len();
    let (status, _) = admin
        .post(
            &format!("/api/admin/conversations/{}/chat-support/end", fay.phone),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let closing = graph.wait_for(fay.phone, before + 2, WAIT).await;
    assert_replies(
        &closing[before..],
        &[
            OutboundBody::text(&content().support_ended_by_admin),
            content().rating_question(),
        ],
    );
    assert_eq!(admin.state(fay.phone).await, "SUPPORT_FEEDBACK");
    let thanks = fay.taps("rating_4", 2).await;
    assert_eq!(thanks[0].text(), Some(content().rating_thanks.as_str()));
    assert_replies(
        &thanks,
        &[
            OutboundBody::text(&content().rating_thanks),
            content().main_menu(),
        ],
    );
    assert_eq!(admin.state(fay.phone).await, "MAIN_MENU");

    // Ended by the user: rated 5 by typing it.
    let mut gus = User::new("447700900444", &graph, &admin);
    gus.says("support", 1).await;
    let ended = gus.taps("end_chat", 2).await;
    assert!(ended[1].choice_ids().contains(&"rating_5".to_owned()));
    assert_replies(
        &ended,
        &[
            OutboundBody::text(&content().support_ended_by_user),
            content().rating_question(),
        ],
    );
    let thanks = gus.says("5", 2).await;
    assert_replies(
        &thanks,
        &[
            OutboundBody::text(&content().rating_thanks),
            content().main_menu(),
        ],
    );

    // Skipping the rating: handled as at the menu, nothing rated.
    let mut hal = User::new("447700900555", &graph, &admin);
    hal.says("hi", 2).await;
    hal.says("support", 1).await;
    hal.says("end chat", 2).await;
    let fees = hal.taps("fees", 1).await;
    assert_eq!(fees[0].text(), Some(content().catalogue.fees.body.as_str()));

    let (_, dashboard) = admin.get("/api/admin/dashboard").await;
    assert_eq!(dashboard["average_rating_7d"], json!(4.5), "{dashboard}");
    assert_eq!(dashboard["ratings_7d"], 2);
    let (_, list) = admin.get("/api/admin/conversations").await;
    let rating_of = |phone: &str| {
        list["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["phone"] == phone)
            .unwrap()["last_rating"]
            .clone()
    };
    assert_eq!(rating_of(fay.phone), 4);
    assert_eq!(rating_of(gus.phone), 5);
    assert_eq!(rating_of(hal.phone), Value::Null);
    assert!(admin
        .notes(fay.phone)
        .await
        .contains(&"SUPPORT_FEEDBACK → MAIN_MENU: Rated the chat support 4/5.".to_owned()));
}

#[tokio::test]
async fn stop_silences_every_flow_until_start() {
    let (graph, stack) = stack().await;
    let admin = StackClient::signed_in(&stack).await;
    let mut ivy = User::new("447700900666", &graph, &admin);
    ivy.says("hi", 2).await;
    ivy.taps("courses", 1).await;
    ivy.taps("course_web", 1).await;
    ivy.taps("apply_course_web", 1).await;
    let bye = ivy.says("STOP", 1).await;
    assert_eq!(bye[0].text(), Some(content().opted_out.as_str()));
    assert_replies(&bye, &[OutboundBody::text(&content().opted_out)]);
    ivy.says("Ivy", 0).await;
    ivy.taps("courses", 0).await;
    ivy.says("menu", 0).await;
    assert_eq!(admin.state(ivy.phone).await, "OPTED_OUT");
    let back = ivy.says("START", 2).await;
    assert_eq!(back[1].choice_ids(), main_menu_ids());
    assert_replies(
        &back,
        &[
            OutboundBody::text(&content().welcome),
            content().main_menu(),
        ],
    );
    // The enquiry in progress was dropped: Admissions starts afresh, without a course.
    let ask = ivy.taps("admissions", 1).await;
    assert_eq!(ask[0].text(), Some(content().admission.ask_name.as_str()));
    assert_replies(
        &ask,
        &[content().prompt(content().admission.ask_name.clone())],
    );
}
