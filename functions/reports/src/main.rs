use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        admin_tokens: true,
        ..Needs::default()
    },
    reports::handle
);
