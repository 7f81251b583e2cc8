use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        admin_tokens: true,
        whatsapp_send: true,
        ..Needs::default()
    },
    typing::handle
);
