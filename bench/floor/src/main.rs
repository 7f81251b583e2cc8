//! The floor of the cold-start bench: the smallest `lambda_runtime` function, built with
//! the same release profile as the real ones. Whatever a function spends above this at
//! init is its own (clients, configuration, TLS set-up).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

// The functions run a single-threaded runtime (one invocation at a time); so does the floor.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(serde_json::json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
