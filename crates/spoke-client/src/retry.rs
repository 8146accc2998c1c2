//! Retries with exponential backoff, for the calls that are safe to repeat.

use std::time::Duration;

use crate::ClientError;

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The longest wait a rate-limited call sits out before its next attempt; a
/// registry asking for more fails the call at once, with its message.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

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
            let retry_after = match &result {
                Err(error) if error.is_transient() && attempt < self.max_attempts => {
                    error.retry_after()
                }
                _ => return result,
            };
            let backoff = self
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(MAX_BACKOFF);
            let delay = match retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => return result,
                Some(wait) => wait.max(backoff),
                None => backoff,
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}
