//! Real time (docs/realtime.md): single-use tickets that open an admin's WebSocket, the
//! connections as items, and the fan-out of desk events to every open connection.

use futures_util::future::join_all;
use rand::RngCore;

use crate::context::Ports;
use crate::error::AppError;
use crate::ports::{
    AdminStore, Connection, ConnectionStore, PushError, Pusher, StoreError, Ticket,
};
use edubot_domain::time::{Millis, MINUTE, SECOND};

/// A ticket opens a connection within this long of being issued (checked on use: the
/// table's TTL deletes lazily).
pub const TICKET_VALID_FOR: Millis = 30 * SECOND;
/// API Gateway ends every connection after 2 hours; an item whose `$disconnect` never came
/// is forgotten a little after that.
pub const CONNECTION_KEPT_FOR: Millis = 2 * 60 * MINUTE + 5 * MINUTE;

/// Tickets are 32 random bytes, hex: nothing to guess, and safe in a URL.
const TICKET_BYTES: usize = 32;

pub fn valid_ticket(ticket: &str) -> bool {
    ticket.len() == TICKET_BYTES * 2 && ticket.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new ticket for `admin` (whose token at `token_version` was just checked), valid for
/// [`TICKET_VALID_FOR`].
pub async fn issue_ticket(
    ctx: &impl Ports,
    admin: &str,
    token_version: u64,
    now: Millis,
) -> Result<Ticket, AppError> {
    let mut bytes = [0u8; TICKET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let ticket = Ticket {
        ticket: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        admin: admin.to_owned(),
        token_version,
        expires_at: now + TICKET_VALID_FOR,
    };
    ctx.store().put_ticket(&ticket).await?;
    Ok(ticket)
}

/// `$connect`: the ticket is taken (once), must not have expired, and its admin must still
/// be enabled at the same token version; then the connection is recorded. Any refusal is
/// the same 401, so a caller learns nothing about tickets.
pub async fn connect(
    ctx: &impl Ports,
    ticket: Option<&str>,
    connection_id: &str,
    now: Millis,
) -> Result<Connection, AppError> {
    let ticket = ticket
        .filter(|t| valid_ticket(t))
        .ok_or_else(AppError::unauthorized)?;
    let taken = ctx
        .store()
        .take_ticket(ticket)
        .await?
        .filter(|t| t.expires_at > now)
        .ok_or_else(AppError::unauthorized)?;
    ctx.admins()
        .session(ctx.store(), &taken.admin, taken.token_version)
        .await?
        .ok_or_else(AppError::unauthorized)?;
    let connection = Connection {
        id: connection_id.to_owned(),
        admin: taken.admin,
        token_version: taken.token_version,
        connected_at: now,
    };
    ctx.store()
        .put_connection(&connection, now + CONNECTION_KEPT_FOR)
        .await?;
    tracing::info!(admin = %connection.admin, "desk connection opened");
    Ok(connection)
}

/// `$disconnect`: the connection is forgotten.
pub async fn disconnect(ctx: &impl Ports, connection_id: &str) -> Result<(), StoreError> {
    ctx.store().delete_connection(connection_id).await
}

/// What one fan-out did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub connections: usize,
    pub delivered: usize,
    /// Connections found gone (410) and forgotten.
    pub gone: usize,
    pub failed: usize,
}

/// Sends each frame, in order, to every open connection; connections side by side, so a
/// slow one holds up only itself (each post has the client's own timeout). A gone
/// connection is forgotten.
pub async fn broadcast(ctx: &impl Ports, frames: &[String]) -> Result<Broadcast, StoreError> {
    if frames.is_empty() {
        return Ok(Broadcast::default());
    }
    let connections = ctx.store().connections().await?;
    let outcomes = join_all(connections.iter().map(|c| async move {
        for frame in frames {
            match ctx.pusher().post(&c.id, frame).await {
                Ok(()) => {}
                Err(PushError::Gone) => return (c, Err(true)),
                Err(PushError::Failed(why)) => {
                    tracing::warn!(admin = %c.admin, reason = %why, "desk event not pushed");
                    return (c, Err(false));
                }
            }
        }
        (c, Ok(()))
    }))
    .await;
    let mut report = Broadcast {
        connections: connections.len(),
        ..Broadcast::default()
    };
    for (c, outcome) in outcomes {
        match outcome {
            Ok(()) => report.delivered += 1,
            Err(true) => {
                ctx.store().delete_connection(&c.id).await?;
                report.gone += 1;
            }
            Err(false) => report.failed += 1,
        }
    }
    Ok(report)
}

/// Closes the connections of admins who were disabled or whose token version moved on
/// (a password change) since they connected; the scheduled checks run it every minute.
/// Answers how many were closed.
pub async fn close_revoked_connections(ctx: &impl Ports) -> Result<usize, StoreError> {
    let mut closed = 0;
    // One read per admin, however many tabs they have open.
    let mut versions: std::collections::HashMap<String, Option<u64>> = Default::default();
    for c in ctx.store().connections().await? {
        if !versions.contains_key(&c.admin) {
            let access = ctx.store().admin_access(&c.admin).await?;
            let version = access.filter(|a| !a.disabled).map(|a| a.token_version);
            versions.insert(c.admin.clone(), version);
        }
        let current = versions[&c.admin] == Some(c.token_version);
        if current {
            continue;
        }
        match ctx.pusher().close(&c.id).await {
            Ok(()) | Err(PushError::Gone) => {}
            Err(PushError::Failed(why)) => {
                tracing::warn!(admin = %c.admin, reason = %why, "revoked connection not closed; forgotten all the same");
            }
        }
        ctx.store().delete_connection(&c.id).await?;
        tracing::info!(admin = %c.admin, "desk connection of a revoked admin closed");
        closed += 1;
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_64_hex_characters() {
        assert!(valid_ticket(&"a1".repeat(32)));
        assert!(!valid_ticket(&"a1".repeat(31)));
        assert!(!valid_ticket(&"zz".repeat(32)));
        assert!(!valid_ticket(""));
    }
}
