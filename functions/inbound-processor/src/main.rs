use edubot_adapters::config::Needs;
use edubot_adapters::AppContext;
use lambda_runtime::{service_fn, Error, LambdaEvent};

// One invocation at a time per instance: one thread (see edubot_adapters::http_function_main).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    edubot_adapters::logging::init();
    let ctx = AppContext::from_env(Needs {
        whatsapp_send: true,
        ..Needs::default()
    })
    .await?;
    let ctx = &ctx;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::dynamodb::Event>| async move {
            Ok::<_, Error>(inbound_processor::handle(ctx, event.payload).await)
        },
    ))
    .await
}
