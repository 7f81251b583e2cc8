//! Real time's AWS side: posting frames to WebSocket connections through API Gateway's
//! management API (`POST`/`DELETE /@connections/{id}` at `WEBSOCKET_CALLBACK_URL`; the
//! local stack serves the same), and handing a user's new file to `desk-events` with an
//! asynchronous invoke (docs/realtime.md).

use std::time::Duration;

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use edubot_app::ports::{PushError, Pusher};

/// A post that takes longer than this is given up for that connection: one slow
/// connection never holds the others (they are posted side by side) nor the stream.
pub const POST_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct ConnectionsClient {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ConnectionsClient {
    /// A client for the WebSocket API at `callback_url` (its `https://…/{stage}` address).
    pub fn new(config: &aws_config::SdkConfig, callback_url: &str) -> ConnectionsClient {
        let timeouts = aws_sdk_apigatewaymanagement::config::timeout::TimeoutConfig::builder()
            .operation_timeout(POST_TIMEOUT)
            .connect_timeout(Duration::from_secs(1))
            .build();
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(callback_url)
            .timeout_config(timeouts)
            .build();
        ConnectionsClient {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(conf),
        }
    }
}

/// 410 Gone: the connection is closed for good; anything else is a passing failure.
fn push_error<E>(e: SdkError<E, HttpResponse>) -> PushError {
    match e.raw_response().map(|r| r.status().as_u16()) {
        Some(410) => PushError::Gone,
        Some(status) => PushError::Failed(format!("HTTP {status}")),
        None => PushError::Failed("no answer".to_owned()),
    }
}

impl Pusher for ConnectionsClient {
    async fn post(&self, connection_id: &str, frame: &str) -> Result<(), PushError> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.as_bytes().to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(push_error)
    }

    async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        self.client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
            .map(|_| ())
            .map_err(push_error)
    }
}

/// Hands work to another function with an asynchronous invoke (Lambda queues it, retries
/// it twice and sends what still fails to the function's on-failure destination).
#[derive(Clone)]
pub struct Invoker {
    client: aws_sdk_lambda::Client,
}

impl Invoker {
    /// `endpoint` overrides Lambda's (the local stack serves the invoke API itself).
    pub fn new(config: &aws_config::SdkConfig, endpoint: Option<&str>) -> Invoker {
        let mut conf = aws_sdk_lambda::config::Builder::from(config);
        if let Some(endpoint) = endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        Invoker {
            client: aws_sdk_lambda::Client::from_conf(conf.build()),
        }
    }

    /// Queues `payload` for `function` (its `live` alias in AWS); answers once Lambda took it.
    pub async fn invoke_async(&self, function: &str, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .invoke()
            .function_name(function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.raw_response().map(|r| r.status().as_u16()) {
                Some(status) => format!("HTTP {status}"),
                None => "no answer".to_owned(),
            })
    }
}
