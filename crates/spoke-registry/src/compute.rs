//! The bounded pool that runs the registry's CPU work: compiling, decoding
//! images, compatibility checks, diffs and lint.
//!
//! A fixed number of worker threads take jobs from a bounded queue. A full
//! queue turns a request away at once ([`RegistryError::Overloaded`]) rather
//! than building an unbounded backlog; a job that runs past its time budget
//! answers [`RegistryError::BudgetExceeded`]. Work cannot be interrupted, so a
//! job over budget keeps its worker until it really ends; a job whose caller
//! has gone (budget passed, client disconnected) before it started is skipped.
//!
//! Workers have the large stack `spoke_schema::STACK_BYTES`: protox,
//! prost-reflect and the rule walkers recurse over nested declarations, and
//! the stack of a runtime thread (2 MiB) is not enough for every input within
//! the nesting limits.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::oneshot;

use crate::RegistryError;

/// How the pool is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComputeOptions {
    /// Jobs that run at once (worker threads).
    pub workers: usize,
    /// Jobs that may wait for a worker; one more is turned away.
    pub queue: usize,
    /// The longest one job may run.
    pub budget: Duration,
}

impl Default for ComputeOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue: 64,
            budget: Duration::from_secs(10),
        }
    }
}

/// The pool's counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComputeStats {
    pub workers: usize,
    /// Jobs waiting for a worker now.
    pub queued: usize,
    /// Jobs running now (including ones past their budget).
    pub running: usize,
    /// Jobs turned away because the queue was full, since start.
    pub rejected_total: u64,
    /// Jobs that ran past their budget, since start.
    pub over_budget_total: u64,
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Counters {
    queued: AtomicUsize,
    running: AtomicUsize,
    rejected: AtomicU64,
    over_budget: AtomicU64,
}

pub(crate) struct ComputePool {
    jobs: SyncSender<Job>,
    workers: usize,
    budget: Duration,
    counters: Arc<Counters>,
}

impl ComputePool {
    /// Starts the workers. They end once the pool is dropped and the queue
    /// has drained.
    pub(crate) fn start(options: ComputeOptions) -> Self {
        let (jobs, queue) = sync_channel::<Job>(options.queue);
        let queue = Arc::new(Mutex::new(queue));
        let counters = Arc::new(Counters::default());
        let mut workers = 0;
        for index in 0..options.workers.max(1) {
            let (queue, counters) = (Arc::clone(&queue), Arc::clone(&counters));
            let spawned = std::thread::Builder::new()
                .name(format!("spoke-compute-{index}"))
                .stack_size(spoke_schema::STACK_BYTES)
                .spawn(move || {
                    yield_to_requests();
                    work(&queue, &counters)
                });
            match spawned {
                Ok(_) => workers += 1,
                Err(error) => tracing::error!(%error, "cannot start a compute worker"),
            }
        }
        Self {
            jobs,
            workers,
            budget: options.budget,
            counters,
        }
    }

    pub(crate) fn stats(&self) -> ComputeStats {
        ComputeStats {
            workers: self.workers,
            queued: self.counters.queued.load(Ordering::Relaxed),
            running: self.counters.running.load(Ordering::Relaxed),
            rejected_total: self.counters.rejected.load(Ordering::Relaxed),
            over_budget_total: self.counters.over_budget.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` on a worker and waits for its result, within the budget
    /// counted from when a worker starts it. `what` names the work in errors.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RegistryError> {
        if self.workers == 0 {
            return Err(RegistryError::Internal(format!(
                "{what}: no compute worker could be started"
            )));
        }
        let (started, started_rx) = oneshot::channel::<()>();
        let (done, done_rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller has gone (its request ended): skip the work.
            if started.send(()).is_err() {
                return;
            }
            let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
        });
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = self.jobs.try_send(job) {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(match error {
                TrySendError::Full(_) => {
                    self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                    RegistryError::Overloaded { what }
                }
                TrySendError::Disconnected(_) => {
                    RegistryError::Internal(format!("{what}: the compute workers have stopped"))
                }
            });
        }
        let stopped = || RegistryError::Internal(format!("{what}: the compute task ended early"));
        started_rx.await.map_err(|_| stopped())?;
        match tokio::time::timeout(self.budget, done_rx).await {
            Err(_) => {
                self.counters.over_budget.fetch_add(1, Ordering::Relaxed);
                Err(RegistryError::BudgetExceeded {
                    what,
                    budget: self.budget,
                })
            }
            Ok(Err(_)) => Err(stopped()),
            Ok(Ok(Err(_panic))) => Err(RegistryError::Internal(format!("{what} panicked"))),
            Ok(Ok(Ok(value))) => Ok(value),
        }
    }
}

/// Lowers the calling worker's priority to nice 10, so that when compiles
/// and request handling compete for the cores, requests win: a busy request
/// thread gets about nine times a worker's share, and an idle machine still
/// gives compiles every core. Without it a flood of compiles took cheap
/// reads' p99 from 0.2 ms to 10 ms (docs/benchmarks.md). Not fatal when
/// refused: the pool still works, only less politely.
fn yield_to_requests() {
    // The crate's scale maps 22 of 0..=99 onto nice 10 for normal threads.
    let nice_10 = ThreadPriorityValue::try_from(22u8).map(ThreadPriority::Crossplatform);
    let lowered = nice_10
        .and_then(|priority| set_current_thread_priority(priority).map_err(|e| format!("{e:?}")));
    if let Err(error) = lowered {
        tracing::warn!(%error, "cannot lower a compute worker's priority");
    }
}

/// A worker's loop: one job at a time until the pool is gone.
fn work(queue: &Mutex<Receiver<Job>>, counters: &Counters) {
    loop {
        // Jobs catch their own panics, so the lock is never poisoned by one.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        counters.queued.fetch_sub(1, Ordering::Relaxed);
        counters.running.fetch_add(1, Ordering::Relaxed);
        job();
        counters.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn pool(workers: usize, queue: usize, budget: Duration) -> ComputePool {
        ComputePool::start(ComputeOptions {
            workers,
            queue,
            budget,
        })
    }

    #[tokio::test]
    async fn a_full_queue_turns_work_away_and_counts_it() {
        let pool = Arc::new(pool(1, 1, Duration::from_secs(30)));
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        // One job holds the worker, one waits in the queue.
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let (shared, held) = (Arc::clone(&pool), Arc::clone(&held));
            waiting.push(tokio::spawn(async move {
                shared
                    .run("held", move || {
                        let _ = held.lock().map(|h| h.recv());
                    })
                    .await
            }));
            // The first is running before the second is sent.
            let expected = (1, waiting.len() - 1);
            while (pool.stats().running, pool.stats().queued) != expected {
                tokio::task::yield_now().await;
            }
        }
        let turned_away = pool.run("one too many", || ()).await;
        assert!(
            matches!(
                turned_away,
                Err(RegistryError::Overloaded {
                    what: "one too many"
                })
            ),
            "{turned_away:?}"
        );
        assert_eq!(pool.stats().rejected_total, 1);
        for _ in 0..2 {
            let _ = release.send(());
        }
        for job in waiting {
            assert!(matches!(job.await, Ok(Ok(()))));
        }
    }

    #[tokio::test]
    async fn work_past_its_budget_is_reported_and_keeps_its_worker() {
        let pool = pool(1, 4, Duration::from_millis(50));
        let (release, held) = mpsc::channel::<()>();
        let over = pool
            .run("the compiler", move || {
                let _ = held.recv();
            })
            .await;
        assert!(
            matches!(
                over,
                Err(RegistryError::BudgetExceeded {
                    what: "the compiler",
                    ..
                })
            ),
            "{over:?}"
        );
        assert_eq!(over.err().map(|e| e.code()), Some("COMPILE_TIMEOUT"));
        assert_eq!(
            (pool.stats().running, pool.stats().over_budget_total),
            (1, 1)
        );
        let _ = release.send(());
        assert_eq!(pool.run("next", || 7).await.ok(), Some(7));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn workers_run_at_nice_10() {
        let pool = pool(1, 1, Duration::from_secs(30));
        let stat = pool
            .run("stat", || std::fs::read_to_string("/proc/thread-self/stat"))
            .await;
        let stat = stat.ok().and_then(Result::ok).unwrap_or_default();
        // Field 19 is the nice value; the name (field 2) has no spaces here.
        assert_eq!(stat.split_whitespace().nth(18), Some("10"), "{stat}");
    }

    #[tokio::test]
    async fn deep_recursion_fits_the_workers_stack() {
        fn depth(n: u64) -> u64 {
            let frame = [n; 64];
            if n == 0 {
                0
            } else {
                1 + depth(std::hint::black_box(frame)[0] - 1)
            }
        }
        // Over 5 MiB of frames (512 bytes of array each): past a runtime
        // thread's 2 MiB.
        let pool = pool(1, 1, Duration::from_secs(30));
        assert_eq!(
            pool.run("recursion", || depth(10_000)).await.ok(),
            Some(10_000)
        );
    }
}
