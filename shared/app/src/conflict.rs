//! The optimistic-lock retry: read the conversation, decide, commit on the condition that
//! its `version` has not moved; when another writer got there first, read again and decide
//! again. Every read-decide-commit of the system goes through this one loop, with one
//! budget and one outcome when the budget runs out.

/// Attempts per change before giving up: each lost race means someone else's change landed,
/// so five in a row only happens when one conversation gets a burst of writers at once.
pub const CONFLICT_ATTEMPTS: usize = 5;

/// What one attempt came to.
pub enum Attempt<T> {
    Done(T),
    /// Another writer changed the conversation since it was read.
    Conflict,
}

impl<T> Attempt<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempt<U> {
        match self {
            Attempt::Done(value) => Attempt::Done(f(value)),
            Attempt::Conflict => Attempt::Conflict,
        }
    }
}

/// The conversation kept changing under every attempt: nothing was committed. The desk
/// answers 409 (try again); an event function fails so its trigger retries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the conversation kept changing under {CONFLICT_ATTEMPTS} attempts")]
pub struct Contended;

/// Runs `attempt` until it is not beaten to the commit, at most [`CONFLICT_ATTEMPTS`] times.
/// (A closure returning a future rather than an async closure: the futures of async
/// closures are not yet provably `Send`, which a spawned task needs.)
pub async fn retry_on_conflict<T, E, F>(mut attempt: impl FnMut() -> F) -> Result<T, E>
where
    F: std::future::Future<Output = Result<Attempt<T>, E>>,
    E: From<Contended>,
{
    for _ in 0..CONFLICT_ATTEMPTS {
        if let Attempt::Done(value) = attempt().await? {
            return Ok(value);
        }
    }
    Err(Contended.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Contended,
        Other,
    }

    impl From<Contended> for Failure {
        fn from(_: Contended) -> Self {
            Failure::Contended
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_lost_race_is_decided_again_until_it_lands() {
        let calls = Cell::new(0);
        let result: Result<usize, Failure> = run(retry_on_conflict(|| async {
            calls.set(calls.get() + 1);
            Ok(if calls.get() < 3 {
                Attempt::Conflict
            } else {
                Attempt::Done(calls.get())
            })
        }));
        assert_eq!(result, Ok(3));
    }

    #[test]
    fn the_budget_is_bounded_and_errors_stop_at_once() {
        let calls = Cell::new(0);
        let result: Result<(), Failure> = run(retry_on_conflict(|| async {
            calls.set(calls.get() + 1);
            Ok(Attempt::Conflict)
        }));
        assert_eq!(result, Err(Failure::Contended));
        assert_eq!(calls.get(), CONFLICT_ATTEMPTS);
        let calls = Cell::new(0);
        let result: Result<(), Failure> = run(retry_on_conflict(|| async {
            calls.set(calls.get() + 1);
            Err(Failure::Other)
        }));
        assert_eq!(result, Err(Failure::Other));
        assert_eq!(calls.get(), 1);
    }
}
