//! Configuration from environment variables: the same names locally and in AWS (README.md, "Configuration").

use std::fmt;

use crate::time::{Millis, SECOND};
use edubot_app::ports::Settings;
use edubot_domain::desk::SEND_CLAIM;
use edubot_domain::templates::parse_template_ref;

/// Meta's production Graph API; `WHATSAPP_API_BASE_URL` overrides it (the local simulator, tests).
pub const DEFAULT_WHATSAPP_API_BASE_URL: &str = "https://graph.facebook.com/v23.0";

/// A value that must never reach a log: `Debug` prints `Secret(***)`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub whatsapp_api_base_url: String,
    pub whatsapp_phone_number_id: String,
    pub whatsapp_access_token: Secret,
    pub whatsapp_app_secret: Secret,
    pub whatsapp_verify_token: Secret,
    pub jwt_secret: Secret,
    /// What CloudFront sends in `X-Origin-Verify`; empty when not behind CloudFront.
    pub origin_verify_secret: Secret,
    /// The S3 bucket of users' files and admins' attachments (empty where unused).
    pub media_bucket: String,
    /// The WhatsApp Business Account whose templates the desk sends (empty where unused).
    pub whatsapp_business_account_id: String,
    /// Where the page opens its WebSocket (`wss://…` in AWS; empty where unused).
    pub websocket_url: String,
    /// The WebSocket API's management address, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`
    /// (empty where unused).
    pub websocket_callback_url: String,
    /// The function a user's new file is handed to (`desk-events`; empty where unused).
    pub desk_events_function: String,
    /// The desk's settings, as the use cases read them.
    pub settings: Settings,
    /// Graph API request timeout.
    pub whatsapp_timeout: Millis,
    /// Lifetime of an admin token.
    pub token_ttl: Millis,
}

/// What a function needs beyond the table; checked once at cold start so a missing
/// secret fails the deploy's first invocation loudly instead of a user's request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub whatsapp_send: bool,
    /// The media bucket (`MEDIA_BUCKET`).
    pub media: bool,
    /// Fetching users' files from WhatsApp's media endpoints (the access token).
    pub media_fetch: bool,
    pub webhook_secrets: bool,
    pub admin_tokens: bool,
    /// Listing the account's message templates (`WHATSAPP_BUSINESS_ACCOUNT_ID`).
    pub templates: bool,
    /// Posting to the page's WebSocket connections (`WEBSOCKET_CALLBACK_URL`).
    pub push: bool,
    /// Handing users' new files to desk-events (`DESK_EVENTS_FUNCTION`).
    pub media_hand_off: bool,
    /// Telling the page where its WebSocket is (`WEBSOCKET_URL`).
    pub websocket_url: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, &'static str),
}

/// JWT HS256 keys shorter than this are refused (README.md, "Configuration"): a short key
/// can be guessed offline from one token.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Config {
    pub fn from_env(needs: Needs) -> Result<Config, ConfigError> {
        Self::from_lookup(needs, |name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(
        needs: Needs,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str, needed: bool| -> Result<String, ConfigError> {
            match get(name) {
                Some(v) => Ok(v),
                None if needed => Err(ConfigError::Missing(name)),
                None => Ok(String::new()),
            }
        };
        let positive = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => {
                    v.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(ConfigError::Invalid(
                            name,
                            "expected a positive whole number",
                        ))
                }
            }
        };
        let seconds =
            |name: &'static str, default: i64| positive(name, default).map(|s| s * SECOND);

        let jwt_secret = required("JWT_SECRET", needs.admin_tokens)?;
        if needs.admin_tokens && jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid(
                "JWT_SECRET",
                "must be at least 32 bytes",
            ));
        }
        let base_url = get("WHATSAPP_API_BASE_URL")
            .unwrap_or_else(|| DEFAULT_WHATSAPP_API_BASE_URL.to_owned());
        if url::Url::parse(&base_url).is_err() {
            return Err(ConfigError::Invalid("WHATSAPP_API_BASE_URL", "not a URL"));
        }

        let whatsapp_timeout = seconds("WHATSAPP_TIMEOUT_SECONDS", 10)?;
        // A send must end well inside its claim, or a retry could start while it is still
        // in flight and both reach the user (docs/reliability.md).
        if whatsapp_timeout > SEND_CLAIM / 2 {
            return Err(ConfigError::Invalid(
                "WHATSAPP_TIMEOUT_SECONDS",
                "must be at most 30: a send has to end well inside its 60 s claim",
            ));
        }
        Ok(Config {
            table_name: required("TABLE_NAME", true)?,
            whatsapp_api_base_url: base_url.trim_end_matches('/').to_owned(),
            whatsapp_phone_number_id: required(
                "WHATSAPP_PHONE_NUMBER_ID",
                needs.whatsapp_send || needs.webhook_secrets,
            )?,
            whatsapp_access_token: Secret(required(
                "WHATSAPP_ACCESS_TOKEN",
                needs.whatsapp_send || needs.media_fetch,
            )?),
            whatsapp_app_secret: Secret(required("WHATSAPP_APP_SECRET", needs.webhook_secrets)?),
            whatsapp_verify_token: Secret(required(
                "WHATSAPP_VERIFY_TOKEN",
                needs.webhook_secrets,
            )?),
            jwt_secret: Secret(jwt_secret),
            media_bucket: required("MEDIA_BUCKET", needs.media)?,
            whatsapp_business_account_id: required(
                "WHATSAPP_BUSINESS_ACCOUNT_ID",
                needs.templates,
            )?,
            websocket_url: required("WEBSOCKET_URL", needs.websocket_url)?,
            websocket_callback_url: required("WEBSOCKET_CALLBACK_URL", needs.push)?,
            desk_events_function: required("DESK_EVENTS_FUNCTION", needs.media_hand_off)?,
            origin_verify_secret: Secret(required("ORIGIN_VERIFY_SECRET", false)?),
            settings: Settings {
                support_sla: seconds("SUPPORT_SLA_SECONDS", 300)?,
                support_queue_timeout: seconds("SUPPORT_QUEUE_TIMEOUT_SECONDS", 900)?,
                support_idle: seconds("SUPPORT_IDLE_SECONDS", 7200)?,
                outbound_retry_base: seconds("OUTBOUND_RETRY_BASE_SECONDS", 30)?,
                outbound_max_attempts: positive("OUTBOUND_MAX_ATTEMPTS", 5)?.min(100) as u32,
                outbound_unknown_grace: seconds("OUTBOUND_UNKNOWN_GRACE_SECONDS", 300)?,
                activation_lock: seconds("ACTIVATION_LOCK_SECONDS", 3600)?,
                feedback_template: match get("SUPPORT_FEEDBACK_TEMPLATE") {
                    None => None,
                    Some(value) => Some(parse_template_ref(&value).ok_or(ConfigError::Invalid(
                        "SUPPORT_FEEDBACK_TEMPLATE",
                        "expected name:language, e.g. feedback_rating:en_US",
                    ))?),
                },
            },
            whatsapp_timeout,
            token_ttl: seconds("ADMIN_TOKEN_TTL_SECONDS", 8 * 3600)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_send_in_flight_cannot_outlive_its_claim() {
        let with_timeout = |t: &str| {
            Config::from_lookup(
                Needs::default(),
                env(&[("TABLE_NAME", "t"), ("WHATSAPP_TIMEOUT_SECONDS", t)]),
            )
        };
        assert_eq!(with_timeout("30").unwrap().whatsapp_timeout * 2, SEND_CLAIM);
        let err = with_timeout("31").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid("WHATSAPP_TIMEOUT_SECONDS", _)
        ));
    }

    #[test]
    fn requires_what_the_function_needs() {
        let err = Config::from_lookup(Needs::default(), env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::Missing("TABLE_NAME")));
        let needs = Needs {
            admin_tokens: true,
            ..Needs::default()
        };
        let err = Config::from_lookup(needs, env(&[("TABLE_NAME", "t"), ("JWT_SECRET", "short")]))
            .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid("JWT_SECRET", _)));
        let cfg = Config::from_lookup(Needs::default(), env(&[("TABLE_NAME", "t")])).unwrap();
        assert_eq!(cfg.whatsapp_api_base_url, DEFAULT_WHATSAPP_API_BASE_URL);
        assert_eq!(cfg.settings.support_sla, 300_000);
    }

    #[test]
    fn secrets_do_not_print() {
        let cfg = Config::from_lookup(
            Needs {
                whatsapp_send: true,
                ..Needs::default()
            },
            env(&[
                ("TABLE_NAME", "t"),
                ("WHATSAPP_PHONE_NUMBER_ID", "1"),
                ("WHATSAPP_ACCESS_TOKEN", "EAAG-very-secret"),
            ]),
        )
        .unwrap();
        assert!(!format!("{cfg:?}").contains("very-secret"));
    }
}
