//! EduBot's domain: what a conversation and a message are, the bot's state machine and the
//! content it says, and the rules of the desk. Types and pure decisions only; storage,
//! WhatsApp and HTTP live in the crates above (`edubot-app`, `edubot-adapters`), which the
//! compiler keeps from being imported here.
//!
//! - [`time`], [`phone`]: milliseconds since the epoch, WhatsApp ids;
//! - [`model`]: conversations, messages, admins; [`message_error`]: why one failed;
//! - [`bot`]: the conversation state machine, with [`content`] (texts and catalogue as data),
//!   [`enquiry`] (admission enquiries) and [`activation`] (activation codes);
//! - [`whatsapp`]: outbound message bodies and WhatsApp's limits;
//! - [`media`]: files users send and admins attach, WhatsApp's types and sizes;
//! - [`desk`]: the desk's rules (ending support, waiting, may we send, claimed sends);
//! - [`team`]: roles, canned replies, the audit log; [`search`]: finding a conversation;
//! - [`reports`]: the desk's figures per day and admin, and the sketch of their percentiles.

pub mod activation;
pub mod bot;
pub mod content;
pub mod desk;
pub mod enquiry;
pub mod media;
pub mod message_error;
pub mod model;
pub mod phone;
pub mod reports;
pub mod search;
pub mod team;
pub mod templates;
pub mod time;
pub mod whatsapp;

pub use phone::Phone;
