use edubot_adapters::config::Needs;

edubot_adapters::event_function_main!(
    Needs {
        media: true,
        media_fetch: true,
        ..Needs::default()
    },
    desk_events::handle
);
