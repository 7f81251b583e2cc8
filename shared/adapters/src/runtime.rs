//! The whole `main` of every function, HTTP or event-driven: logs, the context built once
//! for the life of the container (a missing setting fails the cold start), then the Lambda
//! runtime with the handler borrowing it. Macros because the handler's future borrows the
//! context, which a generic function cannot express as `Send`.
//!
//! A single-threaded runtime: Lambda gives an instance one invocation at a time, so worker
//! threads would only cost start-up time and memory (each thread's allocator arena keeps
//! its own copy of argon2's 19 MiB working memory, which took admin-login from 27 to 65 MB
//! over 200 logins).

use aws_lambda_events::streams::DynamoDbEventResponse;
use lambda_http::Error;

/// `main` of a function behind the HTTP API: `handler(ctx, request)` answers a response.
#[macro_export]
macro_rules! http_function_main {
    ($needs:expr, $handler:path) => {
        #[tokio::main(flavor = "current_thread")]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::logging::init();
            let ctx = $crate::AppContext::from_env($needs).await?;
            let ctx = &ctx;
            lambda_http::run(lambda_http::service_fn(move |req| async move {
                Ok::<_, std::convert::Infallible>($handler(ctx, req).await)
            }))
            .await
        }
    };
}

/// `main` of a function fed events (a stream batch, a schedule): `handler(ctx, event)`
/// answers an [`EventResult`], its event type read from the handler's signature.
#[macro_export]
macro_rules! event_function_main {
    ($needs:expr, $handler:path) => {
        #[tokio::main(flavor = "current_thread")]
        async fn main() -> Result<(), lambda_runtime::Error> {
            $crate::logging::init();
            let ctx = $crate::AppContext::from_env($needs).await?;
            let ctx = &ctx;
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<_>| async move {
                    $crate::runtime::EventResult::into_result($handler(ctx, event.payload).await)
                },
            ))
            .await
        }
    };
}

/// What an event handler answers, as the runtime takes it: a response to return, or an
/// error that makes Lambda retry the event.
pub trait EventResult {
    type Response: serde::Serialize;
    fn into_result(self) -> Result<Self::Response, Error>;
}

impl<T: serde::Serialize, E: Into<Error>> EventResult for Result<T, E> {
    type Response = T;
    fn into_result(self) -> Result<T, Error> {
        self.map_err(Into::into)
    }
}

/// A stream batch's answer names its failed records itself (partial batch response).
impl EventResult for DynamoDbEventResponse {
    type Response = DynamoDbEventResponse;
    fn into_result(self) -> Result<DynamoDbEventResponse, Error> {
        Ok(self)
    }
}
