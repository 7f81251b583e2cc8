//! What a function builds once per cold start and borrows on every invocation.

use edubot_app::auth::{AdminGate, TokenService};
use edubot_app::ports::{Ports, Settings};

use crate::config::{Config, ConfigError, Needs};
use crate::store::Store;
use crate::whatsapp::WhatsAppClient;

pub struct AppContext {
    pub config: Config,
    pub store: Store,
    pub whatsapp: WhatsAppClient,
    pub tokens: TokenService,
    pub admins: AdminGate,
}

impl AppContext {
    /// Reads the environment (failing on what `needs` requires) and builds the clients.
    pub async fn from_env(needs: Needs) -> Result<AppContext, ConfigError> {
        let config = Config::from_env(needs)?;
        let dynamodb = crate::aws::dynamodb_client().await;
        Ok(Self::new(config, dynamodb))
    }

    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> AppContext {
        AppContext {
            store: Store::new(dynamodb, config.table_name.clone()),
            whatsapp: WhatsAppClient::new(&config),
            tokens: TokenService::with_secret(
                config.jwt_secret.expose().as_bytes(),
                config.token_ttl,
            ),
            admins: AdminGate::default(),
            config,
        }
    }
}

impl Ports for AppContext {
    type Store = Store;
    type Messenger = WhatsAppClient;
    fn store(&self) -> &Store {
        &self.store
    }
    fn messenger(&self) -> &WhatsAppClient {
        &self.whatsapp
    }
    fn settings(&self) -> &Settings {
        &self.config.settings
    }
    fn tokens(&self) -> &TokenService {
        &self.tokens
    }
    fn admins(&self) -> &AdminGate {
        &self.admins
    }
}
