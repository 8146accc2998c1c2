//! Single-flight: concurrent requests for one key share one computation.
//! The first caller's work runs; the others wait for its value. When the
//! runner's caller goes away mid-way (a client disconnected), a waiter
//! takes over with its own work, so nobody waits on abandoned work. Once
//! settled, the key is forgotten: later callers start afresh (and find the
//! value where the work stored it).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

pub(crate) struct Flights<K, V> {
    in_flight: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `work` for `key`, computed once for every caller that
    /// asks while it runs.
    pub(crate) async fn run<F, Fut>(&self, key: K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = Arc::clone(
            self.lock()
                .entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new())),
        );
        let value = cell.get_or_init(work).await.clone();
        let mut in_flight = self.lock();
        if in_flight
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            in_flight.remove(&key);
        }
        value
    }

    /// Keys being computed now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_one_run() {
        let flights: Arc<Flights<u8, u32>> = Arc::new(Flights::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (flights, runs) = (Arc::clone(&flights), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                flights
                    .run(1, || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        7
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0, "a settled key is forgotten");
        // Afterwards a new flight starts.
        assert_eq!(flights.run(1, || async { 8 }).await, 8);
    }

    #[tokio::test]
    async fn an_abandoned_run_is_taken_over() {
        let flights: Arc<Flights<u8, u32>> = Arc::new(Flights::new());
        let first = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move { flights.run(1, std::future::pending::<u32>).await })
        };
        tokio::task::yield_now().await;
        first.abort();
        let _ = first.await;
        assert_eq!(flights.run(1, || async { 3 }).await, 3);
    }
}
