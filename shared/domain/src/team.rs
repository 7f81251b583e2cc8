//! The desk as a team: roles, what a supervisor may do, canned replies and the audit log's
//! entries (docs/team.md). Rules only; the use cases that apply them are in `edubot-app`.

use crate::phone::Phone;
use crate::time::{Millis, DAY};

pub use crate::model::Role;

/// Passwords: at least 12 characters (NIST 800-63B's advice is length, not composition),
/// at most 1024 so hashing stays cheap for a hostile caller.
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// Why a new password is refused, for a person.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        Some(format!(
            "The password has {chars} characters; at least {PASSWORD_MIN_CHARS} are needed."
        ))
    } else if chars > PASSWORD_MAX_CHARS {
        Some(format!(
            "The password has {chars} characters; at most {PASSWORD_MAX_CHARS} are allowed."
        ))
    } else {
        None
    }
}

/// A reply the whole desk shares, typed as `/shortcut` in the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub shortcut: String,
    pub text: String,
}

/// Shortcuts: 1–32 of `a-z 0-9 _ -`, so they are safe in keys and typed easily after `/`.
pub fn valid_shortcut(shortcut: &str) -> bool {
    (1..=32).contains(&shortcut.len())
        && shortcut
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The desk keeps at most this many canned replies, so the list is one small read.
pub const MAX_CANNED_REPLIES: usize = 200;

/// What the audit log records (DESIGN §15's list, named as the API shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Login,
    LoginFailed,
    Send,
    Template,
    Note,
    Assign,
    EndChat,
    AdminCreate,
    AdminDisable,
    AdminEnable,
    AdminPassword,
    CannedReplyCreate,
    CannedReplyDelete,
}

impl AuditAction {
    pub const ALL: [AuditAction; 13] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::Send,
        AuditAction::Template,
        AuditAction::Note,
        AuditAction::Assign,
        AuditAction::EndChat,
        AuditAction::AdminCreate,
        AuditAction::AdminDisable,
        AuditAction::AdminEnable,
        AuditAction::AdminPassword,
        AuditAction::CannedReplyCreate,
        AuditAction::CannedReplyDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Send => "send",
            AuditAction::Template => "template",
            AuditAction::Note => "note",
            AuditAction::Assign => "assign",
            AuditAction::EndChat => "end_chat",
            AuditAction::AdminCreate => "admin_create",
            AuditAction::AdminDisable => "admin_disable",
            AuditAction::AdminEnable => "admin_enable",
            AuditAction::AdminPassword => "admin_password",
            AuditAction::CannedReplyCreate => "canned_reply_create",
            AuditAction::CannedReplyDelete => "canned_reply_delete",
        }
    }

    pub fn parse(name: &str) -> Option<AuditAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// Audit entries are kept this long (DESIGN §15: at least a year), then expire.
pub const AUDIT_KEPT_FOR: Millis = 400 * DAY;

/// One thing an admin did. Never holds message text or a password: `detail` says what was
/// acted on (an id, a username, a role), not what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// A ULID: entries of the same millisecond still have one order.
    pub id: String,
    pub at: Millis,
    /// Who acted (for `login_failed`, the username that was tried).
    pub admin: String,
    pub action: AuditAction,
    /// The conversation acted on, if any.
    pub phone: Option<Phone>,
    pub detail: Option<String>,
}

impl AuditEntry {
    pub fn new(admin: &str, action: AuditAction, phone: Option<&Phone>, at: Millis) -> Self {
        AuditEntry {
            id: crate::model::new_message_id(),
            at,
            admin: admin.to_owned(),
            action,
            phone: phone.cloned(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Of the enabled supervisors, one other than `target` whose staying enabled must be
/// checked when `target` is disabled — the acting one first — or None when disabling
/// `target` would leave no enabled supervisor. Checking one in the same transaction is
/// enough: two supervisors disabling each other at once cannot both commit.
pub fn supervisor_to_keep<'a>(
    enabled_supervisors: &'a [String],
    target: &str,
    acting: &str,
) -> Option<&'a str> {
    let others = || enabled_supervisors.iter().filter(|s| *s != target);
    others()
        .find(|s| *s == acting)
        .or_else(|| others().next())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_as_they_are_named() {
        for role in [Role::Admin, Role::Supervisor] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Supervisor"), None);
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_need_twelve_characters_counted_as_characters() {
        assert!(password_problem("elevenchars").is_some());
        assert!(password_problem("twelve chars").is_none());
        assert!(password_problem(&"é".repeat(12)).is_none());
        assert!(password_problem(&"x".repeat(PASSWORD_MAX_CHARS + 1)).is_some());
    }

    #[test]
    fn shortcuts_are_short_lowercase_words() {
        assert!(valid_shortcut("hello"));
        assert!(valid_shortcut("fees_2024-b"));
        assert!(!valid_shortcut(""));
        assert!(!valid_shortcut("Hello"));
        assert!(!valid_shortcut("a b"));
        assert!(!valid_shortcut(&"a".repeat(33)));
    }

    #[test]
    fn every_audit_action_reads_back_from_its_name() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("delete_everything"), None);
    }

    #[test]
    fn the_last_enabled_supervisor_cannot_be_disabled() {
        let sups = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(supervisor_to_keep(&sups(&["ann"]), "ann", "ann"), None);
        assert_eq!(
            supervisor_to_keep(&sups(&["ann", "bob"]), "ann", "ann"),
            Some("bob")
        );
        assert_eq!(
            supervisor_to_keep(&sups(&["ann", "bob", "cy"]), "bob", "cy"),
            Some("cy"),
            "the acting supervisor is the one kept"
        );
        // Disabling an admin (not a supervisor) keeps everyone.
        assert_eq!(
            supervisor_to_keep(&sups(&["ann"]), "dan", "ann"),
            Some("ann")
        );
    }
}
