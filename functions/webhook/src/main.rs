use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        webhook_secrets: true,
        ..Needs::default()
    },
    webhook::handle
);
