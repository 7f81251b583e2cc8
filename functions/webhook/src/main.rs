use edubot_core::config::Needs;

edubot_core::http_function_main!(
    Needs {
        webhook_secrets: true,
        ..Needs::default()
    },
    webhook::handle
);
