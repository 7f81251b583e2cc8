use edubot_adapters::config::Needs;

edubot_adapters::http_function_main!(
    Needs {
        admin_tokens: true,
        websocket_url: true,
        ..Needs::default()
    },
    ws_ticket::handle
);
