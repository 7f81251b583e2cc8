//! Templates: how the desk reaches a user after the 24-hour window (docs/templates.md) —
//! the approved templates listed, one sent to a conversation, and the rating question sent
//! as one when a chat ends outside the window.

use std::sync::Arc;

use crate::context::Ports;
use crate::conversations::conversation_or_404;
use crate::delivery::deliver;
use crate::error::{AppError, ErrorCode};
use crate::ports::Messenger;
use crate::sending::{
    limit_sends, refuse_held_by_other, refuse_opted_out, send_outcome, store_admin_message,
    SendOutcome,
};
use edubot_domain::bot::rating_choice_for_label;
use edubot_domain::desk::{claimed_outbound, support_opened_by_desk};
use edubot_domain::model::{Author, Message};
use edubot_domain::phone::Phone;
use edubot_domain::templates::{find, Template, TemplateRefusal};
use edubot_domain::time::Millis;
use edubot_domain::whatsapp::OutboundBody;

/// The templates the desk may send (502 `whatsapp_error` when Meta cannot list them).
pub async fn approved_templates(ctx: &impl Ports) -> Result<Arc<Vec<Template>>, AppError> {
    ctx.messenger().approved_templates().await.map_err(|e| {
        tracing::warn!(code = %e.error().code, "template listing failed");
        AppError::new(
            ErrorCode::WhatsappError,
            format!("WhatsApp did not list the templates: {}", e.error().title),
        )
    })
}

/// What an admin asks to send: an approved template and its body's parameters.
#[derive(Debug, Clone, Copy)]
pub struct TemplateRequest<'a> {
    pub name: &'a str,
    pub language: &'a str,
    pub parameters: &'a [String],
}

/// Sends a template, refused in DESIGN §13's order: 404, opted_out, assigned_to_other, then
/// 400 (unknown template, parameters); allowed whether or not the window is open. The
/// conversation goes into chat support (without the bot's acknowledgement, without
/// starting a wait) and to the sender if nobody held it, so the user's answer reaches the
/// desk. Stored pending, then sent, like every reply.
pub async fn send_template(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    request: TemplateRequest<'_>,
    now: Millis,
) -> Result<SendOutcome, AppError> {
    limit_sends(ctx, admin, now).await?;
    let conversation = conversation_or_404(ctx, phone).await?;
    refuse_opted_out(&conversation)?;
    refuse_held_by_other(&conversation, admin)?;
    let templates = approved_templates(ctx).await?;
    let refused = |r: TemplateRefusal| AppError::invalid(r.explain());
    let template = find(&templates, request.name, request.language)
        .ok_or(refused(TemplateRefusal::Unknown))?;
    let text = template.fill(request.parameters).map_err(refused)?;
    let body = OutboundBody::Template {
        name: template.name.clone(),
        language: template.language.clone(),
        parameters: request.parameters.to_vec(),
        payloads: Vec::new(),
        text,
    };
    let mut message = claimed_outbound(phone.clone(), Author::Admin, body, now);
    message.admin = Some(admin.to_owned());
    store_admin_message(
        ctx,
        phone,
        &message,
        now,
        // Checked again on the commit's own read: a colleague may have taken it meanwhile.
        |c| {
            refuse_opted_out(c)?;
            refuse_held_by_other(c, admin)
        },
        |c| support_opened_by_desk(c, now),
    )
    .await?;
    tracing::info!(phone = %phone.masked(), admin = %admin, message_id = %message.id, template = %request.name, "template stored");
    send_outcome(deliver(ctx, message, now).await?)
}

/// The rating question for a chat ended outside the window: the configured feedback
/// template, its quick-reply buttons answering with the rating list's ids. Err says why
/// no rating can be asked (for the history).
pub async fn feedback_question(
    ctx: &impl Ports,
    phone: &Phone,
    now: Millis,
) -> Result<Message, String> {
    let Some((name, language)) = ctx.settings().feedback_template.clone() else {
        return Err("no feedback template is configured (SUPPORT_FEEDBACK_TEMPLATE)".to_owned());
    };
    let templates = ctx
        .messenger()
        .approved_templates()
        .await
        .map_err(|e| format!("the templates could not be listed ({})", e.error().title))?;
    let template = find(&templates, &name, &language)
        .filter(|t| t.parameter_count == 0)
        .ok_or_else(|| {
            format!("the template {name} ({language}) is not approved or takes parameters")
        })?;
    let body = OutboundBody::Template {
        name,
        language,
        parameters: Vec::new(),
        payloads: template
            .quick_replies
            .iter()
            .map(|label| rating_choice_for_label(label))
            .collect(),
        text: template.body.clone(),
    };
    Ok(claimed_outbound(phone.clone(), Author::Bot, body, now))
}
