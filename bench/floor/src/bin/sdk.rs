//! A diagnostic beside the floor: the floor plus exactly what every EduBot function builds
//! at cold start for DynamoDB (`edubot_core::aws::dynamodb_client()`), nothing else. Its
//! init minus the floor's is the cost of building the SDK client and its configuration.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

// The functions run a single-threaded runtime (one invocation at a time); so does the floor.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let client = edubot_core::aws::dynamodb_client().await;
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = client;
        Ok::<_, Error>(serde_json::json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
