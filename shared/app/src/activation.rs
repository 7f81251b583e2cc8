//! Issuing activation codes (`POST /api/admin/activation-codes`); what a code is and how a
//! typed one is checked are domain rules ([`edubot_domain::activation`]).

pub use edubot_domain::activation::*;

use crate::context::Ports;
use crate::error::AppError;
use crate::ports::ActivationStore;
use edubot_domain::time::Millis;

/// Issues a code for `student`: answers the code (shown once, stored only hashed) and
/// when it stops working.
pub async fn issue_code(
    ctx: &impl Ports,
    admin: &str,
    student: Student,
    now: Millis,
) -> Result<(String, Millis), AppError> {
    // A collision of 40 random bits is all but impossible; one is still never overwritten.
    for _ in 0..3 {
        let code = new_code();
        let record = ActivationCode {
            code_hash: code_hash(&code),
            student: student.clone(),
            created_by: admin.to_owned(),
            created_at: now,
            valid_until: now + CODE_VALIDITY,
            used_at: None,
        };
        if ctx.store().put_activation_code(&record).await? {
            tracing::info!(admin = %admin, "activation code issued");
            return Ok((code, record.valid_until));
        }
    }
    Err(AppError::new(
        crate::error::ErrorCode::Conflict,
        "Could not issue a unique code; try again.",
    ))
}
