//! What a use case runs with: the [`Ports`] the function's context implements.

use crate::auth::{AdminGate, TokenService};
use std::future::Future;

use crate::ports::{MediaFiles, Messenger, Pusher, Settings, Storage};
use edubot_domain::time::Millis;

/// What a use case is given: the adapters, the settings and the token keys, built once per
/// cold start by the function and borrowed by every invocation.
pub trait Ports: Sync {
    type Store: Storage;
    type Messenger: Messenger;
    type Media: MediaFiles;
    type Pusher: Pusher;
    fn store(&self) -> &Self::Store;
    fn messenger(&self) -> &Self::Messenger;
    /// The media bucket and WhatsApp's media endpoints (built on first use).
    fn media(&self) -> &Self::Media;
    /// The WebSocket connections' management API (built on first use).
    fn pusher(&self) -> &Self::Pusher;
    fn settings(&self) -> &Settings;
    fn tokens(&self) -> &TokenService;
    fn admins(&self) -> &AdminGate;
    /// Waits this long (the sign-in slow-down); the runtime's timer, not a blocked thread.
    fn pause(&self, duration: Millis) -> impl Future<Output = ()> + Send;
}
