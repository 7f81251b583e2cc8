//! EduBot's domain crate: everything the Lambda functions share.
//!
//! Layers, from the inside out:
//! - [`model`], [`bot`], [`content`], [`enquiry`]: conversations, messages, the bot state
//!   machine and its content, admission enquiries (no I/O);
//! - [`store`]: the DynamoDB adapter (the only module that knows item shapes);
//! - [`whatsapp`]: the Graph API client, webhook payloads and their signature;
//! - [`auth`]: admin passwords (argon2id) and tokens (JWT);
//! - [`desk`], [`inbound`], [`ingest`], [`outbound`], [`checks`], [`activation`]: the use
//!   cases the functions call (the desk, the processor, the webhook, sending, the scheduled
//!   checks, activation codes);
//! - [`http`]: request parsing and the one mapping of [`error::ApiError`] to HTTP.

pub mod activation;
pub mod auth;
pub mod aws;
pub mod checks;
pub mod config;
pub mod conflict;
pub mod context;
pub mod desk;
pub mod error;
pub mod http;
pub mod inbound;
pub mod ingest;
pub mod logging;
pub mod outbound;
pub mod store;
pub mod whatsapp;

pub use context::AppContext;
pub use edubot_domain::{bot, content, enquiry, model, phone, time, Phone};
pub use error::{ApiError, ErrorCode};
