//! What every section shares: a table on DynamoDB Local, a Graph API stand-in, an
//! in-process context (on a counting client) to prepare data, admins and their tokens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use edubot_adapters::config::{Config, Needs};
use edubot_adapters::model::new_message_id;
use edubot_adapters::AppContext;
use edubot_e2e::{signed_webhook, stream_event, test_env, user_text, GraphStandIn};

use crate::counting::{counted_client, Counter};

pub struct Fixture {
    pub table: String,
    pub graph: GraphStandIn,
    pub counter: Counter,
    pub ctx: AppContext,
    pub env: HashMap<String, String>,
    seq: AtomicU64,
}

pub fn all_needs() -> Needs {
    Needs {
        whatsapp_send: true,
        webhook_secrets: true,
        admin_tokens: true,
        media: false,
        media_fetch: false,
        templates: true,
        push: false,
        media_hand_off: false,
        websocket_url: false,
    }
}

impl Fixture {
    /// A fixture whose table has no stream (its events are built by the bench).
    pub async fn new(endpoint: &str, label: &str) -> Fixture {
        Self::with_stream(endpoint, label, false).await
    }

    /// A fixture whose table has the stream, for the local stack's stream poller.
    pub async fn with_stream(endpoint: &str, label: &str, stream: bool) -> Fixture {
        let graph = GraphStandIn::start().await;
        let counter = Counter::default();
        let client = counted_client(endpoint, &counter);
        let table = format!("bench-{label}-{}", new_message_id().to_lowercase());
        edubot_local::schema::create_table_with(&client, &table, stream)
            .await
            .expect("table created");
        let env = test_env(&table, &graph.base_url());
        let config = Config::from_lookup(all_needs(), |k| env.get(k).cloned()).expect("config");
        let ctx = AppContext::new(config, client);
        counter.take();
        Fixture {
            table,
            graph,
            counter,
            ctx,
            env,
            seq: AtomicU64::new(1),
        }
    }

    pub fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn wamid(&self) -> String {
        format!("wamid.BENCH{}{:08}", std::process::id(), self.next())
    }

    /// An admin (a cheap argon2 hash is not needed: the login bench needs the real one).
    pub async fn admin_token(&self, username: &str, password: &str) -> String {
        edubot_e2e::create_admin(&self.ctx, username, password).await;
        self.ctx
            .tokens()
            .issue(
                username,
                edubot_e2e::Role::Supervisor,
                0,
                edubot_adapters::time::now_ms(),
            )
            .0
    }

    /// Stores a user's text through the webhook handler (in-process); answers the wamid.
    pub async fn inbound(&self, phone: &str, text: &str) -> String {
        let wamid = self.wamid();
        let req = signed_webhook(&user_text(phone, &wamid, edubot_e2e::now_secs(), text));
        let res = webhook::handle(&self.ctx, req).await;
        assert_eq!(res.status().as_u16(), 200, "webhook stores {phone}");
        wamid
    }

    /// The stream event Lambda would deliver for `phone`'s unprocessed inbound messages.
    pub async fn stream_event_for(&self, phone: &str) -> aws_lambda_events::dynamodb::Event {
        let out = self
            .ctx
            .store
            .client()
            .query()
            .table_name(&self.table)
            .index_name(edubot_adapters::store::index::UNPROCESSED)
            .key_condition_expression(
                "gsi_unprocessed_pk = :p AND begins_with(gsi_unprocessed_sk, :prefix)",
            )
            .expression_attribute_values(":p", AttributeValue::S("UNPROCESSED".into()))
            .expression_attribute_values(":prefix", AttributeValue::S(format!("{phone}#")))
            .send()
            .await
            .expect("query unprocessed");
        let mut keys = Vec::new();
        for item in out.items.unwrap_or_default() {
            keys.push((item["pk"].clone(), item["sk"].clone()));
        }
        // The index projects keys only in some layouts: read the full images.
        let mut images = Vec::new();
        for (pk, sk) in keys {
            let item = self
                .ctx
                .store
                .client()
                .get_item()
                .table_name(&self.table)
                .key("pk", pk)
                .key("sk", sk)
                .consistent_read(true)
                .send()
                .await
                .expect("get message")
                .item
                .expect("message exists");
            images.push(item);
        }
        stream_event(images)
    }

    /// A user's message, stored and processed (in-process), replies sent.
    pub async fn user_says(&self, phone: &str, text: &str) {
        self.inbound(phone, text).await;
        let event = self.stream_event_for(phone).await;
        let res = inbound_processor::handle(&self.ctx, event).await;
        assert!(res.batch_item_failures.is_empty(), "processed {phone}");
    }

    /// `phone` in chat support (a fresh conversation, or back into support).
    pub async fn enter_support(&self, phone: &str) {
        self.user_says(phone, "support").await;
    }
}

/// The whole local stack against the bench's DynamoDB Local, with `env` (the fixture's
/// configuration plus the section's own settings).
pub async fn local_stack(endpoint: &str, env: HashMap<String, String>) -> edubot_local::LocalStack {
    edubot_local::LocalStack::start(edubot_local::Settings {
        port: 0,
        data_dir: None,
        dynamodb_endpoint: Some(endpoint.to_owned()),
        s3_endpoint: None,
        env,
        static_dir: edubot_local::static_site::default_dir(),
    })
    .await
    .expect("local stack starts")
}
