use edubot_adapters::config::Needs;

edubot_adapters::event_function_main!(
    Needs {
        whatsapp_send: true,
        media: true,
        media_fetch: true,
        // Closing a revoked admin's WebSocket connections.
        push: true,
        ..Needs::default()
    },
    scheduled_checks::handle
);
