//! AWS clients, built once per cold start and borrowed by every invocation.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The roots AWS service endpoints chain to (Amazon Trust Services: Amazon Root CA 1–4 and
/// the Starfield Services G2 cross-sign), compiled in. The SDK's default reads and parses
/// the whole system store (~150 certificates from /etc/ssl) on the first request of every
/// cold start; these five parse in microseconds, and the client trusts nothing AWS does
/// not use. Copied from Debian's ca-certificates (Mozilla's list).
pub const AWS_ROOT_CERTIFICATES: &str = include_str!("aws/amazon-trust-services.pem");

/// The SDK's HTTP client: rustls with ring, the workspace's one TLS crypto provider (the
/// Graph API client's reqwest uses ring too, with webpki-roots compiled in).
pub fn http_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOT_CERTIFICATES.as_bytes());
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("TLS context"),
        )
        .build_https()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The SDK's shared settings: region, credentials, our HTTP client.
///
/// Lambda puts the region and the function's credentials in the environment: taken straight
/// from there, a cold start runs none of aws-config's provider chains (profile files,
/// IMDS, SSO…). Anywhere else — an engineer running `edubot-admin` — the full chain applies.
pub async fn sdk_config() -> aws_config::SdkConfig {
    if let (Some(region), Some(key), Some(secret)) = (
        env("AWS_REGION"),
        env("AWS_ACCESS_KEY_ID"),
        env("AWS_SECRET_ACCESS_KEY"),
    ) {
        let credentials =
            Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        return aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client())
            .region(Region::new(region))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
    }
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// A DynamoDB client. `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config().await);
    if let Some(endpoint) = env("AWS_ENDPOINT_URL_DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// An S3 client for the media bucket. `AWS_ENDPOINT_URL_S3` points it at the local stack's
/// S3-compatible server (then with path-style addresses, which a server on 127.0.0.1
/// needs).
pub async fn s3_client() -> aws_sdk_s3::Client {
    s3_client_with(&sdk_config().await, env("AWS_ENDPOINT_URL_S3"))
}

/// An S3 client from shared settings. Checksums only where S3 requires them: presigned
/// URLs must not carry a checksum the browser cannot send, and S3-compatible servers do
/// not all take the SDK's streamed trailing checksums.
pub fn s3_client_with(
    config: &aws_config::SdkConfig,
    endpoint: Option<String>,
) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let mut builder = aws_sdk_s3::config::Builder::from(config)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{pem::PemObject, CertificateDer};

    #[test]
    fn the_compiled_in_aws_roots_are_five_certificates_rustls_accepts() {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(super::AWS_ROOT_CERTIFICATES.as_bytes())
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        let mut store = rustls::RootCertStore::empty();
        let (added, rejected) = store.add_parsable_certificates(certs);
        assert_eq!((added, rejected), (5, 0));
    }
}
