use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        admin_tokens: true,
        whatsapp_send: true,
        media: true,
        ..Needs::default()
    },
    retry_message::handle
);
