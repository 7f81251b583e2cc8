use edubot_adapters::config::Needs;

edubot_adapters::event_function_main!(Needs::default(), ws_disconnect::handle);
