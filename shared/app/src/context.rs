//! What a use case runs with: the [`Ports`] the function's context implements.

use crate::auth::{AdminGate, TokenService};
use std::future::Future;

use crate::ports::{Messenger, Settings, Storage};
use edubot_domain::time::Millis;

/// What a use case is given: the adapters, the settings and the token keys, built once per
/// cold start by the function and borrowed by every invocation.
pub trait Ports: Sync {
    type Store: Storage;
    type Messenger: Messenger;
    fn store(&self) -> &Self::Store;
    fn messenger(&self) -> &Self::Messenger;
    fn settings(&self) -> &Settings;
    fn tokens(&self) -> &TokenService;
    fn admins(&self) -> &AdminGate;
    /// Waits this long (the sign-in slow-down); the runtime's timer, not a blocked thread.
    fn pause(&self, duration: Millis) -> impl Future<Output = ()> + Send;
}
