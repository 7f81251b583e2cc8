use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        admin_tokens: true,
        whatsapp_send: true,
        // The rating question outside the window is a template (SUPPORT_FEEDBACK_TEMPLATE).
        templates: true,
        ..Needs::default()
    },
    end_chat::handle
);
