//! EduBot's use cases, written against the interfaces of [`ports`] (bundled as
//! [`context::Ports`]) so that they know
//! nothing of DynamoDB, the Graph API or HTTP (the adapters crate implements the ports;
//! the functions plug them in). Business rules are the domain's; this crate orders the
//! reads, decisions, writes and sends around them.
//!
//! - [`processor`]: an inbound message through the state machine, committed and answered;
//! - [`delivery`]: the one send pipeline (a stored, claimed message sent and its fate recorded);
//! - [`desk`]: sign-in, the list, the dashboard, replies, ending a chat; [`conversations`]:
//!   reading the conversation an admin named (the one 404);
//! - [`checks`]: the scheduled checks (waiting, idle chats, retries, replays);
//! - [`media`]: fetching the files users send into the media bucket; [`attachments`]: the
//!   files admins send;
//! - [`templates`]: answering after the 24-hour window; [`receipts`]: read receipts and the
//!   typing indicator;
//! - [`reports`]: the desk's figures, counted from the stream and read as a report;
//! - [`activation`]: issuing activation codes;
//! - [`auth`]: passwords, tokens and the enabled-admin check;
//! - [`conflict`]: the one optimistic-lock retry; [`error`]: the one application error.

pub mod activation;
pub mod assignment;
pub mod attachments;
pub mod auth;
pub mod checks;
pub mod conflict;
pub mod context;
pub mod conversations;
pub mod delivery;
pub mod desk;
pub mod error;
pub mod media;
pub mod ports;
pub mod processor;
pub mod realtime;
pub mod receipts;
pub mod reports;
pub mod sending;
pub mod team;
pub mod templates;

pub use context::Ports;
pub use error::{AppError, ErrorCode};
