//! AWS clients, built once per cold start and borrowed by every invocation.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's HTTP client: rustls with ring, the workspace's one TLS crypto provider (the
/// Graph API client's reqwest uses ring too).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A DynamoDB client. `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local.
///
/// Lambda puts the region and the function's credentials in the environment: taken straight
/// from there, a cold start runs none of aws-config's provider chains (profile files,
/// IMDS, SSO…). Anywhere else — an engineer running `edubot-admin` — the full chain applies.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(region), Some(key), Some(secret)) = (
        env("AWS_REGION"),
        env("AWS_ACCESS_KEY_ID"),
        env("AWS_SECRET_ACCESS_KEY"),
    ) {
        let credentials =
            Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .http_client(http_client())
            .region(Region::new(region))
            .credentials_provider(credentials);
        if let Some(endpoint) = env("AWS_ENDPOINT_URL_DYNAMODB") {
            config = config.endpoint_url(endpoint);
        }
        return aws_sdk_dynamodb::Client::from_conf(config.build());
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}
