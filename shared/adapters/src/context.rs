//! What a function builds once per cold start and borrows on every invocation. The
//! DynamoDB client every function needs; the Graph client and the token keys only where
//! the function uses them (the webhook builds neither).

use std::sync::OnceLock;

use edubot_app::auth::{AdminGate, TokenService};
use edubot_app::ports::Settings;
use edubot_app::Ports;
use edubot_domain::time::Millis;

use crate::config::{Config, ConfigError, Needs};
use crate::media::MediaClient;
use crate::realtime::{ConnectionsClient, Invoker};
use crate::store::Store;
use crate::whatsapp::WhatsAppClient;

pub struct AppContext {
    pub config: Config,
    pub store: Store,
    pub admins: AdminGate,
    whatsapp: OnceLock<WhatsAppClient>,
    tokens: OnceLock<TokenService>,
    media: OnceLock<MediaClient>,
    pusher: OnceLock<ConnectionsClient>,
    invoker: OnceLock<Invoker>,
}

impl AppContext {
    /// Reads the environment (failing on what `needs` requires) and builds the clients.
    /// The clients `needs` names are built now, in the cold start, not in a user's request.
    pub async fn from_env(needs: Needs) -> Result<AppContext, ConfigError> {
        let config = Config::from_env(needs)?;
        let dynamodb = crate::aws::dynamodb_client().await;
        let ctx = Self::new(config, dynamodb);
        if needs.whatsapp_send {
            ctx.whatsapp();
        }
        if needs.admin_tokens {
            ctx.tokens();
        }
        if needs.media {
            ctx.use_s3(crate::aws::s3_client().await);
        }
        if needs.push || needs.media_hand_off {
            ctx.use_realtime(&crate::aws::sdk_config().await, None);
        }
        Ok(ctx)
    }

    /// The context with only the DynamoDB client built; the others on first use.
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> AppContext {
        AppContext {
            store: Store::new(
                dynamodb,
                config.table_name.clone(),
                config.settings.outbound_unknown_grace,
            ),
            admins: AdminGate::default(),
            whatsapp: OnceLock::new(),
            tokens: OnceLock::new(),
            media: OnceLock::new(),
            pusher: OnceLock::new(),
            invoker: OnceLock::new(),
            config,
        }
    }

    /// The Graph API client (its connection pool lives as long as the container).
    pub fn whatsapp(&self) -> &WhatsAppClient {
        self.whatsapp
            .get_or_init(|| WhatsAppClient::new(&self.config))
    }

    /// Gives the context its S3 client (the media bucket's); a function that handles files
    /// gets it at cold start ([`Needs::media`]), the local stack with its own endpoint.
    pub fn use_s3(&self, s3: aws_sdk_s3::Client) {
        let graph_base = url::Url::parse(&self.config.whatsapp_api_base_url)
            .expect("the configuration checked the Graph API base URL");
        let _ = self.media.set(MediaClient::new(
            crate::whatsapp::client::media_http_client(),
            s3,
            self.config.media_bucket.clone(),
            graph_base,
            self.config.whatsapp_access_token.clone(),
        ));
    }

    /// Gives the context its WebSocket management client (at `WEBSOCKET_CALLBACK_URL`) and
    /// its Lambda client: the functions that push get them at cold start, the local stack
    /// with its own endpoints.
    pub fn use_realtime(&self, config: &aws_config::SdkConfig, lambda_endpoint: Option<&str>) {
        if !self.config.websocket_callback_url.is_empty() {
            let _ = self.pusher.set(ConnectionsClient::new(
                config,
                &self.config.websocket_callback_url,
            ));
        }
        let _ = self.invoker.set(Invoker::new(config, lambda_endpoint));
    }

    /// Hands work to another function (a user's new file to desk-events).
    pub fn invoker(&self) -> &Invoker {
        self.invoker
            .get()
            .expect("a function that hands work on is built with Needs::media_hand_off")
    }

    /// The media bucket and WhatsApp's media endpoints.
    pub fn media(&self) -> &MediaClient {
        self.media
            .get()
            .expect("a function that handles files is built with Needs::media")
    }

    /// The admin token keys.
    pub fn tokens(&self) -> &TokenService {
        self.tokens.get_or_init(|| {
            TokenService::with_secret(
                self.config.jwt_secret.expose().as_bytes(),
                self.config.token_ttl,
            )
        })
    }
}

impl Ports for AppContext {
    type Store = Store;
    type Messenger = WhatsAppClient;
    type Media = MediaClient;
    type Pusher = ConnectionsClient;
    fn store(&self) -> &Store {
        &self.store
    }
    fn messenger(&self) -> &WhatsAppClient {
        self.whatsapp()
    }
    fn media(&self) -> &MediaClient {
        AppContext::media(self)
    }
    fn pusher(&self) -> &ConnectionsClient {
        self.pusher
            .get()
            .expect("a function that pushes is built with Needs::push (WEBSOCKET_CALLBACK_URL)")
    }
    fn settings(&self) -> &Settings {
        &self.config.settings
    }
    fn tokens(&self) -> &TokenService {
        AppContext::tokens(self)
    }
    fn admins(&self) -> &AdminGate {
        &self.admins
    }
    async fn pause(&self, duration: Millis) {
        tokio::time::sleep(std::time::Duration::from_millis(duration.max(0) as u64)).await;
    }
}
