use edubot_core::config::Needs;

edubot_core::http_function_main!(
    Needs {
        admin_tokens: true,
        whatsapp_send: true,
        ..Needs::default()
    },
    retry_message::handle
);
