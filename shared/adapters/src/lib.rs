//! EduBot's adapters: everything that talks to the outside world, behind the interfaces the
//! use cases (`edubot-app`) are written against.
//!
//! - [`store`]: DynamoDB; implements the storage ports and owns the stored item format
//!   (`docs/storage.md`);
//! - [`whatsapp`]: the Graph API client (the messaging port), webhook payloads and their
//!   signature; [`ingest`]: the webhook's recording of them;
//! - [`media`]: the media bucket and WhatsApp's media endpoints (the media port);
//! - [`http`]: Lambda HTTP: request parsing with its limits, authentication, and the one
//!   mapping of application errors to responses; [`views`]: the API's JSON shapes;
//! - [`config`], [`context`], [`aws`], [`logging`]: what a function builds at cold start;
//!   [`runtime`]: every function's `main`;
//! - `stream_reader` (feature `stream-reader`): the table's stream read outside Lambda.

pub mod aws;
pub mod config;
pub mod context;
pub mod http;
pub mod ingest;
pub mod logging;
pub mod media;
pub mod realtime;
pub mod runtime;
pub mod store;
pub mod stream;
#[cfg(feature = "stream-reader")]
pub mod stream_reader;
pub mod views;
pub mod whatsapp;

pub use context::AppContext;
pub use edubot_domain::{bot, content, enquiry, model, phone, team, time, Phone};
