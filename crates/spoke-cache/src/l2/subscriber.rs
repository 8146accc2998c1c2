//! The invalidation subscriber: one dedicated connection, resubscribed after
//! every reconnect, whose liveness the owner can query.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use fred::clients::Client;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use tokio::sync::broadcast::error::RecvError;

use super::metrics::Counters;

/// Live flag plus an epoch that moves whenever messages may have been lost.
#[derive(Default)]
pub(crate) struct Subscription {
    live: AtomicBool,
    epoch: AtomicU64,
}

impl Subscription {
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.live.load(SeqCst).then(|| self.epoch.load(SeqCst))
    }

    /// Subscribed (again): a new epoch, since messages may have been missed
    /// before.
    fn up(&self) {
        self.epoch.fetch_add(1, SeqCst);
        self.live.store(true, SeqCst);
    }

    fn down(&self) {
        if self.live.swap(false, SeqCst) {
            tracing::warn!("redis invalidation subscription lost");
        }
    }
}

pub(crate) type OnInvalidate = Box<dyn Fn(&str) + Send + Sync>;

/// How often the connection state is checked besides the client's events,
/// and a failed SUBSCRIBE retried.
const CHECK_EVERY: Duration = Duration::from_millis(250);
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) async fn run(
    client: Client,
    channel: String,
    state: Arc<Subscription>,
    counters: Arc<Counters>,
    on_invalidate: OnInvalidate,
) {
    // Receivers first, so that the first connection's event is not missed.
    let mut messages = client.message_rx();
    let mut reconnects = client.reconnect_rx();
    let mut errors = client.error_rx();
    drop(client.connect());
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            biased;
            error = errors.recv() => {
                if matches!(error, Err(RecvError::Closed)) {
                    break;
                }
                state.down();
            }
            reconnect = reconnects.recv() => {
                if matches!(reconnect, Err(RecvError::Closed)) {
                    break;
                }
                // A new connection carries no subscription.
                state.down();
                subscribe(&client, &channel, &state).await;
            }
            message = messages.recv() => match message {
                Ok(message) if &*message.channel == channel.as_str() => {
                    if let Some(key) = message.value.as_str() {
                        Counters::bump(&counters.invalidations_received);
                        on_invalidate(&key);
                    }
                }
                Ok(_) => {}
                // Messages were dropped: whatever they said is unknown.
                Err(RecvError::Lagged(_)) => state.up(),
                Err(RecvError::Closed) => break,
            },
            _ = check.tick() => {
                if !client.is_connected() {
                    state.down();
                } else if state.epoch().is_none() {
                    subscribe(&client, &channel, &state).await;
                }
            }
        }
    }
    state.down();
}

async fn subscribe(client: &Client, channel: &str, state: &Subscription) {
    match tokio::time::timeout(SUBSCRIBE_TIMEOUT, client.subscribe(channel)).await {
        Ok(Ok(())) => state.up(),
        Ok(Err(error)) => tracing::debug!(%error, "redis SUBSCRIBE failed"),
        Err(_) => tracing::debug!("redis SUBSCRIBE timed out"),
    }
}
