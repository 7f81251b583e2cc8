//! What a use case runs with: the [`Ports`] the function's context implements.

use crate::auth::{AdminGate, TokenService};
use crate::ports::{Messenger, Settings, Storage};

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
}
