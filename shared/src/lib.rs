//! EduBot's domain crate: everything the Lambda functions share.
//!
//! Layers, from the inside out:
//! - [`model`], [`bot`], [`content`]: conversations, messages and the bot state machine
//!   (no I/O);
//! - [`store`]: the DynamoDB adapter (the only module that knows item shapes);
//! - [`whatsapp`]: the Graph API client, webhook payloads and their signature;
//! - [`auth`]: admin passwords (argon2id) and tokens (JWT);
//! - [`desk`], [`inbound`], [`ingest`], [`outbound`]: the use cases the functions call;
//! - [`http`]: request parsing and the one mapping of [`error::ApiError`] to HTTP.

pub mod activation;
pub mod auth;
pub mod aws;
pub mod bot;
pub mod checks;
pub mod config;
pub mod content;
pub mod context;
pub mod desk;
pub mod enquiry;
pub mod error;
pub mod http;
pub mod inbound;
pub mod ingest;
pub mod logging;
pub mod model;
pub mod outbound;
pub mod phone;
pub mod store;
pub mod time;
pub mod whatsapp;

pub use context::AppContext;
pub use error::{ApiError, ErrorCode};
pub use phone::Phone;
