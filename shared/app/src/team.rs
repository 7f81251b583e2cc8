//! The team behind the desk (DESIGN §15): accounts a supervisor manages, the canned replies
//! everyone shares, and the audit log. Each change is written with its audit entry in one
//! transaction, so the log never misses a change nor records one that did not happen.

use crate::auth::{hash_password, new_admin};
use crate::context::Ports;
use crate::error::{AppError, ErrorCode};
use crate::ports::{AccountChange, AdminStore, AdminSummary, AuditFilter, Page, TeamStore};
use edubot_domain::model::valid_username;
use edubot_domain::team::{
    password_problem, supervisor_to_keep, valid_shortcut, AuditAction, AuditEntry, CannedReply,
    Role, MAX_CANNED_REPLIES,
};
use edubot_domain::time::Millis;

/// Every account, by username.
pub async fn list_admins(ctx: &impl Ports) -> Result<Vec<AdminSummary>, AppError> {
    Ok(ctx.store().list_admins().await?)
}

fn check_password(password: &str) -> Result<(), AppError> {
    match password_problem(password) {
        Some(problem) => Err(AppError::invalid(problem)),
        None => Ok(()),
    }
}

fn no_such_admin() -> AppError {
    AppError::not_found("No admin has this username.")
}

/// What a supervisor asks for a new account.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: &'a str,
}

/// Creates an account: 400 for a bad username, password or role, 409 `conflict` for a
/// taken username (a disabled account is never silently re-enabled by re-creating it).
pub async fn create_admin(
    ctx: &impl Ports,
    acting: &str,
    account: NewAccount<'_>,
    now: Millis,
) -> Result<AdminSummary, AppError> {
    if !valid_username(account.username) {
        return Err(AppError::invalid(
            "A username is 3 to 64 characters of a-z, 0-9, '.', '_' and '-'.",
        ));
    }
    check_password(account.password)?;
    let role = Role::parse(account.role)
        .ok_or_else(|| AppError::invalid("`role` is `admin` or `supervisor`."))?;
    let mut admin = new_admin(account.username, account.password, role);
    admin.created_at = now;
    let audit = AuditEntry::new(acting, AuditAction::AdminCreate, None, now)
        .with_detail(format!("{} as {role}", account.username));
    if !ctx.store().create_admin(&admin, &audit).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "An admin with this username already exists.",
        ));
    }
    tracing::info!(admin = %acting, created = %admin.username, role = %role, "admin created");
    Ok(AdminSummary {
        username: admin.username,
        role,
        disabled: false,
        created_at: admin.created_at,
    })
}

/// Enables an account; its tokens so far stop working (within a minute, with its
/// WebSockets), as after any change to it.
pub async fn enable_admin(
    ctx: &impl Ports,
    acting: &str,
    username: &str,
    now: Millis,
) -> Result<AdminSummary, AppError> {
    if !valid_username(username) {
        return Err(no_such_admin());
    }
    write_disabled(ctx, acting, username, false, None, now).await
}

/// Disables an account; its tokens so far stop working (within a minute, with its
/// WebSockets). The last enabled supervisor cannot be disabled: 409.
pub async fn disable_admin(
    ctx: &impl Ports,
    acting: &str,
    username: &str,
    now: Millis,
) -> Result<AdminSummary, AppError> {
    if !valid_username(username) {
        return Err(no_such_admin());
    }
    let admins = ctx.store().list_admins().await?;
    let target = admins
        .iter()
        .find(|a| a.username == username)
        .ok_or_else(no_such_admin)?;
    let keep = if target.role == Role::Supervisor && !target.disabled {
        let supervisors: Vec<String> = admins
            .iter()
            .filter(|a| a.role == Role::Supervisor && !a.disabled)
            .map(|a| a.username.clone())
            .collect();
        let keep = supervisor_to_keep(&supervisors, username, acting).ok_or_else(|| {
            AppError::new(
                ErrorCode::Conflict,
                "This is the last enabled supervisor: enable or create another one first.",
            )
        })?;
        Some(keep.to_owned())
    } else {
        None
    };
    write_disabled(ctx, acting, username, true, keep.as_deref(), now).await
}

/// The change and its audit entry; `keep`, a supervisor who must still be enabled.
async fn write_disabled(
    ctx: &impl Ports,
    acting: &str,
    username: &str,
    disabled: bool,
    keep: Option<&str>,
    now: Millis,
) -> Result<AdminSummary, AppError> {
    let action = if disabled {
        AuditAction::AdminDisable
    } else {
        AuditAction::AdminEnable
    };
    let audit = AuditEntry::new(acting, action, None, now).with_detail(username);
    let change = ctx
        .store()
        .set_admin_disabled(username, disabled, keep, &audit)
        .await?;
    tracing::info!(admin = %acting, target = %username, disabled, "admin account changed");
    account_changed(change)
}

/// Sets an account's password (at least 12 characters); its tokens so far stop working.
pub async fn set_admin_password(
    ctx: &impl Ports,
    acting: &str,
    username: &str,
    password: &str,
    now: Millis,
) -> Result<AdminSummary, AppError> {
    if !valid_username(username) {
        return Err(no_such_admin());
    }
    check_password(password)?;
    let audit =
        AuditEntry::new(acting, AuditAction::AdminPassword, None, now).with_detail(username);
    let change = ctx
        .store()
        .set_admin_password(username, &hash_password(password), &audit)
        .await?;
    tracing::info!(admin = %acting, target = %username, "admin password set");
    account_changed(change)
}

fn account_changed(change: AccountChange) -> Result<AdminSummary, AppError> {
    match change {
        AccountChange::Done(summary) => Ok(summary),
        AccountChange::NoSuchAdmin => Err(no_such_admin()),
        AccountChange::SupervisorGone => Err(AppError::new(
            ErrorCode::Conflict,
            "Another supervisor was disabled meanwhile; look at the team again and retry.",
        )),
    }
}

/// The desk's canned replies, by shortcut.
pub async fn canned_replies(ctx: &impl Ports) -> Result<Vec<CannedReply>, AppError> {
    Ok(ctx.store().canned_replies().await?)
}

/// Adds a canned reply: 400 for a bad shortcut or text, 409 for a taken shortcut or a full
/// list.
pub async fn create_canned_reply(
    ctx: &impl Ports,
    acting: &str,
    shortcut: &str,
    text: &str,
    now: Millis,
) -> Result<CannedReply, AppError> {
    if !valid_shortcut(shortcut) {
        return Err(AppError::invalid(
            "A shortcut is 1 to 32 characters of a-z, 0-9, '_' and '-'.",
        ));
    }
    let text = crate::desk::validate_text(text)?;
    if ctx.store().canned_replies().await?.len() >= MAX_CANNED_REPLIES {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("The desk has {MAX_CANNED_REPLIES} canned replies; delete one first."),
        ));
    }
    let reply = CannedReply {
        shortcut: shortcut.to_owned(),
        text: text.to_owned(),
    };
    let audit = AuditEntry::new(acting, AuditAction::CannedReplyCreate, None, now)
        .with_detail(format!("/{shortcut}"));
    if !ctx.store().create_canned_reply(&reply, &audit).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "A canned reply with this shortcut already exists.",
        ));
    }
    Ok(reply)
}

/// Deletes a canned reply: 404 when there is none.
pub async fn delete_canned_reply(
    ctx: &impl Ports,
    acting: &str,
    shortcut: &str,
    now: Millis,
) -> Result<(), AppError> {
    let not_found = || AppError::not_found("No canned reply has this shortcut.");
    if !valid_shortcut(shortcut) {
        return Err(not_found());
    }
    let audit = AuditEntry::new(acting, AuditAction::CannedReplyDelete, None, now)
        .with_detail(format!("/{shortcut}"));
    if !ctx.store().delete_canned_reply(shortcut, &audit).await? {
        return Err(not_found());
    }
    Ok(())
}

/// The audit log, newest first.
pub async fn audit_log(
    ctx: &impl Ports,
    filter: &AuditFilter,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<AuditEntry>, AppError> {
    if filter.admin.as_deref().is_some_and(|a| !valid_username(a)) {
        return Err(AppError::invalid("`admin` is not a username."));
    }
    Ok(ctx.store().audit_entries(filter, limit, cursor).await?)
}
