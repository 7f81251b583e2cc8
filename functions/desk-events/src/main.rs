use edubot_adapters::config::Needs;

edubot_adapters::event_function_main!(
    Needs {
        media: true,
        ..Needs::default()
    },
    desk_events::handle
);
