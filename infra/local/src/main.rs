//! `make run`: the whole of EduBot on one laptop. Ctrl-C stops everything it started.

use edubot_local::{LocalStack, Settings};

#[tokio::main]
async fn main() {
    edubot_adapters::logging::init();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edubot-local: {e}");
            std::process::exit(2);
        }
    };
    let stack = match LocalStack::start(settings).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("edubot-local: could not start: {e}");
            std::process::exit(1);
        }
    };
    let url = stack.url();
    println!("\nEduBot local stack is up on {url}");
    println!("  Admin page:          {url}/");
    println!("  WhatsApp simulator:  {url}/simulator/");
    println!("  Webhook:             {url}/webhook");
    match &stack.generated_admin_password {
        Some(p) => println!("  Admin sign-in:       {} / {p}   (generated now and shown once; set ADMIN_PASSWORD to choose)", stack.admin_username),
        None => println!("  Admin sign-in:       {} (password from ADMIN_PASSWORD, or as printed when it was created)", stack.admin_username),
    }
    println!("Press Ctrl-C to stop.\n");
    let _ = tokio::signal::ctrl_c().await;
    println!("Stopping…");
    drop(stack);
}
