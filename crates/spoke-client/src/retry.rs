//! Retries with exponential backoff, for the calls that are safe to repeat.

use std::time::Duration;

use crate::ClientError;

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How often, and how patiently, a read is tried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// Attempts in all, at least 1.
    pub(crate) max_attempts: u32,
    /// The pause after the first failure; it doubles with each further one.
    pub(crate) backoff: Duration,
}

impl Retry {
    /// Runs `call` until it succeeds, fails for good, or the attempts are
    /// used up; only [transient](ClientError::is_transient) failures are
    /// tried again.
    pub(crate) async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut attempt = 1;
        loop {
            let result = call().await;
            match &result {
                Err(error) if error.is_transient() && attempt < self.max_attempts => {}
                _ => return result,
            }
            let delay = self
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1));
            tokio::time::sleep(delay.min(MAX_BACKOFF)).await;
            attempt += 1;
        }
    }
}
