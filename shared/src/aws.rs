//! AWS clients, built once per cold start and borrowed by every invocation.

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's HTTP client: rustls with ring, the workspace's one TLS crypto provider (the
/// Graph API client's reqwest uses ring too).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A DynamoDB client from the environment. `AWS_ENDPOINT_URL_DYNAMODB` points it at
/// DynamoDB Local.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}
