//! What a function builds once per cold start and borrows on every invocation.

use crate::auth::{AdminGate, TokenService};
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
            tokens: TokenService::new(&config),
            admins: AdminGate::default(),
            config,
        }
    }
}
