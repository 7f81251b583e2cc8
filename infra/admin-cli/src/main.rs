//! `edubot-admin`: creates, disables and enables admin accounts from an engineer's machine
//! (the first supervisor, or a way back in); supervisors manage the team from the page.
//!
//! ```text
//! edubot-admin create <username> [admin|supervisor]  # password from ADMIN_PASSWORD or stdin;
//!                                                    # an existing account gets the password
//!                                                    # (and the role, when one is given)
//! edubot-admin disable <username>   # their tokens stop working within a minute
//! edubot-admin enable <username>
//! edubot-admin backfill             # once after upgrading to the team desk or reports (docs/team.md, docs/reports.md)
//! edubot-admin recount < bodies     # counts the figures of the batches push's on-failure messages
//!                                   # name (their bodies, JSON; docs/operations.md)
//! ```
//! Each account change is in the audit log as done by `edubot-admin`.
//! Uses `TABLE_NAME` and the usual AWS environment (`AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB
//! Local, and its stream).

use std::io::BufRead;
use std::process::ExitCode;

use edubot_adapters::config::{Config, Needs};
use edubot_adapters::model::valid_username;
use edubot_adapters::store::{AdminStore, Store};
use edubot_adapters::team::{password_problem, AuditAction, AuditEntry, Role};
use edubot_app::ports::AccountChange;

/// Who the audit log says acted.
const ACTOR: &str = "edubot-admin";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, username, role) = match args.as_slice() {
        [c] if c == "backfill" || c == "recount" => (c.as_str(), "", None),
        [c, u] if matches!(c.as_str(), "create" | "disable" | "enable") => {
            (c.as_str(), u.as_str(), None)
        }
        [c, u, r] if c == "create" => match Role::parse(r) {
            Some(role) => (c.as_str(), u.as_str(), Some(role)),
            None => return usage(),
        },
        _ => return usage(),
    };
    if !matches!(command, "backfill" | "recount") && !valid_username(username) {
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
        "create" => create(&store, username, role).await,
        "backfill" => backfill(&store).await,
        "recount" => recount(&store).await,
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
    eprintln!(
        "usage: edubot-admin create <username> [admin|supervisor] | disable|enable <username> | backfill | recount < on-failure-message-bodies"
    );
    ExitCode::from(2)
}

async fn create(store: &Store, username: &str, role: Option<Role>) -> Result<String, String> {
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
    if let Some(problem) = password_problem(&password) {
        return Err(problem);
    }
    let existing = store.get_admin(username).await.map_err(|e| e.to_string())?;
    let action = match existing {
        Some(_) => AuditAction::AdminPassword,
        None => AuditAction::AdminCreate,
    };
    let mut admin = edubot_app::auth::admin_with_password(
        existing,
        username,
        &password,
        role.unwrap_or(Role::Admin),
    );
    if let Some(role) = role {
        admin.role = role;
    }
    store.put_admin(&admin).await.map_err(|e| e.to_string())?;
    audit(store, action, format!("{username} as {}", admin.role)).await?;
    Ok(format!(
        "{} {username} created (or password reset)",
        admin.role
    ))
}

async fn set_disabled(store: &Store, username: &str, disabled: bool) -> Result<String, String> {
    let action = if disabled {
        AuditAction::AdminDisable
    } else {
        AuditAction::AdminEnable
    };
    let entry =
        AuditEntry::new(ACTOR, action, None, edubot_adapters::time::now_ms()).with_detail(username);
    // An engineer's override: no last-supervisor check here.
    match store
        .set_admin_disabled(username, disabled, None, &entry)
        .await
        .map_err(|e| e.to_string())?
    {
        AccountChange::Done(_) if disabled => Ok(format!("admin {username} disabled")),
        AccountChange::Done(_) => Ok(format!("admin {username} enabled")),
        _ => Err(format!("no admin {username}")),
    }
}

/// Brings what was stored before the team desk and reports up to them; idempotent.
async fn backfill(store: &Store) -> Result<String, String> {
    let done = store
        .backfill_team(|p| {
            eprintln!(
                "{} items scanned: {} accounts listed, {} conversations indexed",
                p.items_scanned, p.admins_listed, p.conversations_indexed
            )
        })
        .await
        .map_err(|e| e.to_string())?;
    let figures = store
        .backfill_figures(edubot_adapters::time::now_ms(), |p| {
            eprintln!(
                "{} items scanned: {} figure events, {} counted now",
                p.items_scanned, p.events_found, p.events_counted
            )
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "backfill done: {} items, {} accounts listed, {} conversations indexed ({} written meanwhile by the desk); \
         {} figure events, {} counted now (the rest were counted before)",
        done.items_scanned,
        done.admins_listed,
        done.conversations_indexed,
        done.conversations_skipped,
        figures.events_found,
        figures.events_counted
    ))
}

/// Counts the figures of each batch the on-failure messages on stdin name (JSON documents,
/// one after another), each event once; goes on past a batch that fails, and fails at the
/// end if any did.
async fn recount(store: &Store) -> Result<String, String> {
    use edubot_adapters::stream_reader::{self, FailedBatch};
    let client = stream_reader::streams_client().await;
    let (mut batches, mut failed, mut counted) = (0, 0, 0);
    let stdin = std::io::stdin().lock();
    for body in serde_json::Deserializer::from_reader(stdin).into_iter::<serde_json::Value>() {
        batches += 1;
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                failed += 1;
                eprintln!("message {batches}: not JSON, reading stopped: {e}");
                break;
            }
        };
        let done = match FailedBatch::from_failure_value(&body) {
            Ok(batch) => stream_reader::recount(&client, store, &batch)
                .await
                .map(|r| (batch, r)),
            Err(e) => Err(e),
        };
        match done {
            Ok((batch, r)) => {
                counted += r.counted;
                eprintln!(
                    "message {batches} ({} from {}): {} records read, {} figure events, {} counted now",
                    batch.shard_id, batch.start_sequence_number, r.records, r.figure_events, r.counted
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("message {batches}: {e}");
            }
        }
    }
    let summary = format!(
        "recount done: {batches} messages, {failed} failed, {counted} figure events counted now"
    );
    if failed > 0 {
        Err(summary)
    } else {
        Ok(summary)
    }
}

async fn audit(store: &Store, action: AuditAction, detail: String) -> Result<(), String> {
    use edubot_app::ports::TeamStore;
    let entry =
        AuditEntry::new(ACTOR, action, None, edubot_adapters::time::now_ms()).with_detail(detail);
    store.put_audit(&entry).await.map_err(|e| e.to_string())
}
