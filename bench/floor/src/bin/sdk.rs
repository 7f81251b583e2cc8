//! A diagnostic beside the floor: the floor plus exactly what every EduBot function builds
//! at cold start for DynamoDB (`edubot_adapters::aws::dynamodb_client()`), and one GetItem per
//! invocation. Its init minus the floor's is the cost of building the SDK client; its first
//! invocation minus a warm one is the SDK's own one-time work on first use.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

// The functions run a single-threaded runtime (one invocation at a time); so does the floor.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let client = edubot_adapters::aws::dynamodb_client().await;
    let table = std::env::var("TABLE_NAME")?;
    let (client, table) = (&client, table.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let found = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("BENCH#FLOOR".into()))
            .key("sk", AttributeValue::S("#".into()))
            .send()
            .await?
            .item
            .is_some();
        Ok::<_, Error>(serde_json::json!({ "found": found, "echo": event.payload }))
    }))
    .await
}
