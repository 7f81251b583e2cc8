//! `edubot-admin`: creates, disables and enables admin accounts (there is no sign-up page).
//!
//! ```text
//! edubot-admin create <username>    # password read from ADMIN_PASSWORD or the first line of stdin
//! edubot-admin disable <username>   # their tokens stop working within a minute
//! edubot-admin enable <username>
//! ```
//! Uses `TABLE_NAME` and the usual AWS environment (`AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local).

use std::io::BufRead;
use std::process::ExitCode;

use edubot_adapters::config::{Config, Needs};
use edubot_adapters::model::valid_username;
use edubot_adapters::store::{AdminStore, Store};

/// Shorter passwords are refused: admins hold every conversation.
const MIN_PASSWORD_CHARS: usize = 12;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, username) = match args.as_slice() {
        [c, u] => (c.as_str(), u.as_str()),
        _ => return usage(),
    };
    if !valid_username(username) {
        eprintln!("usernames are 3–64 of a-z 0-9 . _ -");
        return ExitCode::from(2);
    }
    let config = match Config::from_env(Needs::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let store = Store::new(
        edubot_adapters::aws::dynamodb_client().await,
        config.table_name,
        config.settings.outbound_unknown_grace,
    );
    let result = match command {
        "create" => create(&store, username).await,
        "disable" => set_disabled(&store, username, true).await,
        "enable" => set_disabled(&store, username, false).await,
        _ => return usage(),
    };
    match result {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: edubot-admin create|disable|enable <username>");
    ExitCode::from(2)
}

async fn create(store: &Store, username: &str) -> Result<String, String> {
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("Password for {username} (one line):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    let existing = store.get_admin(username).await.map_err(|e| e.to_string())?;
    let admin = edubot_app::auth::admin_with_password(existing, username, &password);
    store.put_admin(&admin).await.map_err(|e| e.to_string())?;
    Ok(format!("admin {username} created (or password reset)"))
}

async fn set_disabled(store: &Store, username: &str, disabled: bool) -> Result<String, String> {
    match store
        .set_admin_disabled(username, disabled)
        .await
        .map_err(|e| e.to_string())?
    {
        true if disabled => Ok(format!("admin {username} disabled")),
        true => Ok(format!("admin {username} enabled")),
        false => Err(format!("no admin {username}")),
    }
}
