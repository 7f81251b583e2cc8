//! Sending over the Graph API: `POST {base}/{phone_number_id}/messages` (docs/architecture.md).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edubot_app::ports::{Messenger, Outgoing, SendError};
use edubot_domain::templates::Template;

use crate::config::{Config, Secret};
use crate::model::MessageError;

/// Meta's throughput limits: the number's messages a second (130429) and one user's
/// (131056). Refused, so never delivered: sent again here after a short wait, before the
/// send falls to the scheduled retries (30 s and more away).
const THROUGHPUT_META_CODES: [i64; 2] = [130429, 131056];
/// Meta error codes worth retrying besides those: throttling, temporary outages, pair rate
/// limits.
const OTHER_TRANSIENT_META_CODES: [i64; 5] = [1, 2, 4, 80007, 131057];
/// The waits before each send again (each up to half as long again, so throttled sends
/// spread out): 5.25 s at most, well inside the send's claim.
const THROUGHPUT_BACKOFF_MS: [u64; 3] = [500, 1_000, 2_000];

#[derive(Clone)]
pub struct WhatsAppClient {
    http: reqwest::Client,
    messages_url: String,
    /// `{base}/{business account id}/message_templates?…` (empty where unused).
    templates_url: String,
    access_token: Secret,
    templates: Arc<Mutex<Option<CachedTemplates>>>,
}

/// The approved templates as last listed, and when.
struct CachedTemplates {
    listed_at: Instant,
    templates: Arc<Vec<Template>>,
}

/// How long a listing of the templates is used before Meta is asked again (a newly
/// approved template shows within this; DESIGN: at most 5 minutes).
pub const TEMPLATES_CACHED_FOR: Duration = Duration::from_secs(5 * 60);
/// A listing follows at most this many pages (Meta's pages hold up to 100 templates).
const MAX_TEMPLATE_PAGES: usize = 20;

impl WhatsAppClient {
    /// Built once per cold start; its pool keeps connections to Meta open across sends and
    /// invocations (a TLS handshake saved on each), one per send in flight at once.
    pub fn new(config: &Config) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            // Under the idle limits of Meta's edge, so a pooled connection is rarely found
            // closed; TCP keep-alives find a dead one while Lambda keeps the instance frozen.
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_keepalive(Duration::from_secs(30))
            .timeout(Duration::from_millis(config.whatsapp_timeout as u64))
            .build()
            .expect("reqwest client with static settings");
        let base = &config.whatsapp_api_base_url;
        WhatsAppClient {
            http,
            messages_url: format!("{base}/{}/messages", config.whatsapp_phone_number_id),
            templates_url: format!(
                "{base}/{}/message_templates?status=APPROVED&fields=name,language,status,category,parameter_format,components&limit=100",
                config.whatsapp_business_account_id
            ),
            access_token: config.whatsapp_access_token.clone(),
            templates: Arc::default(),
        }
    }

    /// One POST to the messages endpoint; answers Meta's JSON on a 2xx.
    async fn post_messages(
        &self,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, SendError> {
        let response = self
            .http
            .post(&self.messages_url)
            .bearer_auth(self.access_token.expose())
            .header("content-type", "application/json")
            .body(request.to_string())
            .send()
            .await;
        answer_of(response).await
    }

    /// Every page of the approved templates, each page's `next` followed only to the
    /// Graph API's own host (it carries our token; never logged).
    async fn list_templates(&self) -> Result<Vec<Template>, SendError> {
        let graph = url::Url::parse(&self.templates_url).map_err(|_| {
            SendError::Permanent(MessageError {
                code: "config".into(),
                title: "The Graph API address is not a URL".into(),
            })
        })?;
        let mut templates = Vec::new();
        let mut next = Some(self.templates_url.clone());
        for _ in 0..MAX_TEMPLATE_PAGES {
            let Some(url) = next.take() else { break };
            let response = self
                .http
                .get(&url)
                .bearer_auth(self.access_token.expose())
                .send()
                .await;
            let page = answer_of(response).await?;
            templates.extend(super::templates::offered_in_page(&page));
            next = page
                .pointer("/paging/next")
                .and_then(|n| n.as_str())
                .filter(|n| super::templates::same_origin(&graph, n))
                .map(str::to_owned);
        }
        if next.is_some() {
            tracing::warn!(pages = MAX_TEMPLATE_PAGES, "template listing cut short");
        }
        Ok(templates)
    }
}

/// Meta's answer as JSON on a 2xx; otherwise the failure, classified.
async fn answer_of(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<serde_json::Value, SendError> {
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            let error = MessageError {
                code: "network".into(),
                title: network_title(&e),
            };
            // A connect failure never reached Meta; anything later might have.
            return Err(if e.is_connect() {
                SendError::Transient(error)
            } else {
                SendError::Unknown(error)
            });
        }
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => {
            return Err(SendError::Unknown(MessageError {
                code: "network".into(),
                title: network_title(&e),
            }))
        }
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(json)
    } else {
        Err(classify_failure(status, &json))
    }
}

/// The HTTP client for WhatsApp's media downloads: files of up to 100 MB take longer than
/// a send, so the whole request has minutes; a stalled one still ends soon.
pub fn media_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(240))
        .build()
        .expect("reqwest client with static settings")
}

impl Messenger for WhatsAppClient {
    /// Sends one message; answers the `wamid` Meta assigned.
    async fn send(&self, message: Outgoing<'_>) -> Result<String, SendError> {
        let request = super::graph_request(
            message.body,
            message.to.as_str(),
            message.callback,
            message.media_link,
            message.reply_to_wamid,
        );
        let mut waits = THROUGHPUT_BACKOFF_MS.iter();
        let answer = loop {
            match self.post_messages(&request).await {
                Err(SendError::Transient(e))
                    if e.code
                        .parse()
                        .is_ok_and(|c| THROUGHPUT_META_CODES.contains(&c)) =>
                {
                    // Only this send waits: the other conversations' sends go on meanwhile.
                    let Some(ms) = waits.next() else {
                        return Err(SendError::Transient(e));
                    };
                    let ms = ms + rand::Rng::gen_range(&mut rand::thread_rng(), 0..=ms / 2);
                    tracing::warn!(code = %e.code, wait_ms = ms, "WhatsApp throttled a send; waiting");
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                other => break other?,
            }
        };
        match answer.pointer("/messages/0/id").and_then(|v| v.as_str()) {
            Some(wamid) => Ok(wamid.to_owned()),
            None => Err(SendError::Unknown(MessageError {
                code: "bad_response".into(),
                title: "WhatsApp accepted the request but returned no message id".into(),
            })),
        }
    }

    async fn mark_read(&self, wamid: &str, typing: bool) -> Result<(), SendError> {
        let mut request = serde_json::json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        });
        if typing {
            request["typing_indicator"] = serde_json::json!({ "type": "text" });
        }
        self.post_messages(&request).await.map(|_| ())
    }

    async fn approved_templates(&self) -> Result<Arc<Vec<Template>>, SendError> {
        if let Some(cached) = self.templates.lock().expect("template cache lock").as_ref() {
            if cached.listed_at.elapsed() < TEMPLATES_CACHED_FOR {
                return Ok(cached.templates.clone());
            }
        }
        let templates = Arc::new(self.list_templates().await?);
        *self.templates.lock().expect("template cache lock") = Some(CachedTemplates {
            listed_at: Instant::now(),
            templates: templates.clone(),
        });
        Ok(templates)
    }
}

/// What went wrong with a request to WhatsApp, for a person.
pub(crate) fn network_title(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "No answer from WhatsApp in time".into()
    } else if e.is_connect() {
        "Could not connect to WhatsApp".into()
    } else {
        "The connection to WhatsApp failed".into()
    }
}

/// Sorts a non-2xx Graph API answer, keeping Meta's code and title: a 5xx may come after
/// Meta accepted the message, so its outcome is unknown (retried only after a grace period
/// with no status, docs/reliability.md); throttling is transient; the rest is permanent.
pub fn classify_failure(http_status: u16, body: &serde_json::Value) -> SendError {
    let meta = body.get("error");
    let code = meta.and_then(|e| e.get("code")).and_then(|c| c.as_i64());
    let title = meta
        .and_then(|e| {
            e.pointer("/error_data/details")
                .or_else(|| e.get("error_user_title"))
                .or_else(|| e.get("message"))
        })
        .and_then(|t| t.as_str())
        .unwrap_or("WhatsApp refused the message")
        .to_owned();
    let error = MessageError {
        code: code
            .map(|c| c.to_string())
            .unwrap_or_else(|| format!("http_{http_status}")),
        title,
    };
    if http_status >= 500 {
        SendError::Unknown(error)
    } else if http_status == 429
        || code.is_some_and(|c| {
            THROUGHPUT_META_CODES.contains(&c) || OTHER_TRANSIENT_META_CODES.contains(&c)
        })
    {
        SendError::Transient(error)
    } else {
        SendError::Permanent(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_meta_errors() {
        let window = json!({"error": {"message": "(#131047) Re-engagement message", "code": 131047,
            "error_data": {"details": "Message failed to send because more than 24 hours have passed"}}});
        match classify_failure(400, &window) {
            SendError::Permanent(e) => {
                assert_eq!(e.code, "131047");
                assert!(e.title.contains("24 hours"));
            }
            other => panic!("expected permanent, got {other:?}"),
        }
        assert!(matches!(
            classify_failure(400, &json!({"error": {"code": 130429}})),
            SendError::Transient(_)
        ));
        assert!(matches!(
            classify_failure(400, &json!({"error": {"code": 131056}})),
            SendError::Transient(_)
        ));
        assert!(
            matches!(classify_failure(503, &json!({})), SendError::Unknown(e) if e.code == "http_503")
        );
        assert!(matches!(
            classify_failure(401, &json!({"error": {"code": 190}})),
            SendError::Permanent(_)
        ));
    }

    #[test]
    fn a_server_error_may_have_been_accepted_so_its_outcome_is_unknown() {
        for code in [1, 2, 131000] {
            assert!(matches!(
                classify_failure(500, &json!({"error": {"code": code}})),
                SendError::Unknown(_)
            ));
        }
        assert!(matches!(
            classify_failure(502, &json!({})),
            SendError::Unknown(_)
        ));
        assert!(matches!(
            classify_failure(429, &json!({})),
            SendError::Transient(e) if e.code == "http_429"
        ));
    }
}
