use edubot_adapters::config::Needs;

edubot_adapters::event_function_main!(
    Needs {
        push: true,
        media_hand_off: true,
        ..Needs::default()
    },
    push::handle
);
