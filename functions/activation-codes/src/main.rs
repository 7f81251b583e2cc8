use edubot_core::config::Needs;

edubot_core::http_function_main!(
    Needs {
        admin_tokens: true,
        ..Needs::default()
    },
    activation_codes::handle
);
