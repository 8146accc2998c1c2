//! Streaming read replicas: which one may serve a read, and a background
//! probe per replica that keeps that answer current.
//!
//! A replica serves reads while its last probe found it in recovery (a
//! standby) and at most `replica_max_lag` behind the primary. Lag is
//! measured in WAL: each probe first samples the primary's WAL position,
//! then asks the replica what it has replayed; the lag is how long ago the
//! primary had written the oldest WAL the replica still lacks (zero when it
//! has replayed everything sampled). That stays right on an idle primary,
//! where `now() - pg_last_xact_replay_timestamp()` would grow forever.
//!
//! Read-your-writes: after a write the store records the primary's WAL
//! position for each module the write touched; a read of that module goes to
//! a replica only once a probe has seen the replica replay that far.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use spoke_domain::ModuleName;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;
use tokio_postgres::types::PgLsn;

use crate::{PgNode, StorageError, db_error, get};

/// How often each replica is probed.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// A WAL position that must never be considered replayed: recorded when a
/// write committed but the primary's position could not be read after it,
/// so the module's reads stay on the primary.
const UNKNOWN_POSITION: u64 = u64::MAX;

/// Whether a replica serves reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Answering, a standby, and within the lag limit: serves reads.
    Up,
    /// Not answering, failing queries, or not a standby: serves no reads.
    Down,
    /// Answering but further behind the primary than the lag limit: serves
    /// no reads until it catches up.
    Lagging,
}

/// One replica as the last probe (or a failed read since) saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaHealth {
    /// `host:port/database`, without credentials.
    pub name: String,
    pub state: ReplicaState,
    /// How far behind the primary it was, when known.
    pub lag: Option<Duration>,
    /// Why it is down or lagging.
    pub detail: Option<String>,
}

/// The replicas of one store and the write positions reads must wait for.
#[derive(Debug)]
pub(crate) struct Replicas {
    members: Vec<Replica>,
    /// Round-robin position.
    next: AtomicUsize,
    max_lag: Duration,
    writes: Mutex<WritePositions>,
}

#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) name: String,
    pub(crate) node: PgNode,
    /// Reads this replica answered.
    pub(crate) reads: AtomicU64,
    status: Mutex<Status>,
}

#[derive(Clone, Debug)]
struct Status {
    state: ReplicaState,
    lag: Option<Duration>,
    detail: Option<String>,
    /// The WAL position the last successful probe saw replayed.
    replayed: u64,
}

/// Where the primary's WAL stood after this process's recent writes.
#[derive(Debug, Default)]
struct WritePositions {
    by_module: HashMap<ModuleName, u64>,
    /// After the newest write of any module (for listings of all modules).
    newest: u64,
    /// Every replica in service had replayed this far when entries at or
    /// below it were forgotten; a replica must have too, to serve any read.
    floor: u64,
}

impl Replicas {
    pub(crate) fn new(members: Vec<(String, PgNode)>, max_lag: Duration) -> Self {
        let members = members
            .into_iter()
            .map(|(name, node)| Replica {
                name,
                node,
                reads: AtomicU64::new(0),
                status: Mutex::new(Status {
                    state: ReplicaState::Down,
                    lag: None,
                    detail: Some("not probed yet".to_owned()),
                    replayed: 0,
                }),
            })
            .collect();
        Self {
            members,
            next: AtomicUsize::new(0),
            max_lag,
            writes: Mutex::new(WritePositions::default()),
        }
    }

    pub(crate) fn members(&self) -> &[Replica] {
        &self.members
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Starts one probe task per replica; the caller aborts them when the
    /// store is dropped. `timeout` bounds each probe query.
    pub(crate) fn spawn_probes(
        self: &Arc<Self>,
        primary: &PgNode,
        timeout: Duration,
    ) -> Vec<AbortHandle> {
        (0..self.members.len())
            .map(|index| {
                tokio::spawn(probe_loop(
                    Arc::clone(self),
                    index,
                    primary.clone(),
                    timeout,
                ))
                .abort_handle()
            })
            .collect()
    }

    /// The next replica in round-robin order that is up and has replayed
    /// this process's writes to `module` (to any module when `None`).
    pub(crate) fn pick(&self, module: Option<&ModuleName>) -> Option<&Replica> {
        if self.members.is_empty() {
            return None;
        }
        let needed = {
            let writes = lock(&self.writes);
            let written = match module {
                Some(module) => writes.by_module.get(module).copied().unwrap_or(0),
                None => writes.newest,
            };
            written.max(writes.floor)
        };
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.members.len())
            .map(|i| &self.members[(start + i) % self.members.len()])
            .find(|replica| {
                let status = replica.status();
                status.state == ReplicaState::Up && status.replayed >= needed
            })
    }

    /// Records that a write to `modules` committed with the primary's WAL
    /// at `position` (`None`: unknown, so keep their reads on the primary).
    pub(crate) fn record_write<'a>(
        &self,
        modules: impl IntoIterator<Item = &'a ModuleName>,
        position: Option<u64>,
    ) {
        let mut writes = lock(&self.writes);
        let position = position.unwrap_or(UNKNOWN_POSITION);
        for module in modules {
            let entry = writes.by_module.entry(module.clone()).or_insert(0);
            *entry = (*entry).max(position);
        }
        if position != UNKNOWN_POSITION {
            writes.newest = writes.newest.max(position);
        }
    }

    pub(crate) fn health(&self) -> Vec<ReplicaHealth> {
        self.members
            .iter()
            .map(|replica| {
                let status = replica.status();
                ReplicaHealth {
                    name: replica.name.clone(),
                    state: status.state,
                    lag: status.lag,
                    detail: status.detail,
                }
            })
            .collect()
    }

    /// Forgets write positions every replica in service has replayed, so
    /// the map holds only the last moments' writes.
    fn forget_replayed_writes(&self) {
        let Some(replayed_by_all) = self
            .members
            .iter()
            .map(Replica::status)
            .filter(|status| status.state == ReplicaState::Up)
            .map(|status| status.replayed)
            .min()
        else {
            return;
        };
        let mut writes = lock(&self.writes);
        writes
            .by_module
            .retain(|_, position| *position > replayed_by_all);
        writes.floor = writes.floor.max(replayed_by_all);
    }
}

impl Replica {
    fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    /// Takes the replica out of service after a failed read; the next
    /// successful probe puts it back.
    pub(crate) fn mark_down(&self, detail: String) {
        let mut status = lock(&self.status);
        status.state = ReplicaState::Down;
        status.lag = None;
        status.detail = Some(detail);
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// values that are rewritten whole; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PgNode {
    /// The primary's current WAL insert position: at or past the commit
    /// record of every transaction that committed before the call.
    pub(crate) async fn wal_position(&self) -> Result<u64, StorageError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT pg_current_wal_insert_lsn()", &[])
            .await
            .map_err(db_error)?;
        Ok(get::<PgLsn>(&row, 0)?.into())
    }

    /// What a standby has replayed; `None` when the server is not in
    /// recovery (a primary, or a promoted replica).
    async fn replayed_position(&self) -> Result<Option<u64>, StorageError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()", &[])
            .await
            .map_err(db_error)?;
        if !get::<bool>(&row, 0)? {
            return Ok(None);
        }
        Ok(Some(get::<Option<PgLsn>>(&row, 1)?.map_or(0, u64::from)))
    }
}

/// Probes replica `index` every [`PROBE_INTERVAL`] until aborted.
async fn probe_loop(replicas: Arc<Replicas>, index: usize, primary: PgNode, timeout: Duration) {
    let Some(replica) = replicas.members.get(index) else {
        return;
    };
    let mut primary_history = PrimaryHistory::new(replicas.max_lag * 2 + 10 * PROBE_INTERVAL);
    let mut ticks = tokio::time::interval(PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The primary first: WAL it had before the replica answers is WAL
        // the replica should have.
        if let Ok(Ok(position)) = tokio::time::timeout(timeout, primary.wal_position()).await {
            primary_history.record(Instant::now(), position);
        }
        let probed = tokio::time::timeout(timeout, replica.node.replayed_position()).await;
        let status = match probed {
            Err(_) => down(format!("no answer to the probe within {timeout:?}")),
            Ok(Err(e)) => down(e.to_string()),
            Ok(Ok(None)) => {
                down("not in recovery (not a standby), so it serves no reads".to_owned())
            }
            Ok(Ok(Some(replayed))) => {
                let lag = primary_history.lag(replayed, Instant::now());
                let lagging = lag > replicas.max_lag;
                Status {
                    state: if lagging {
                        ReplicaState::Lagging
                    } else {
                        ReplicaState::Up
                    },
                    lag: Some(lag),
                    detail: lagging.then(|| {
                        format!(
                            "{lag:?} behind the primary, more than the {:?} allowed",
                            replicas.max_lag
                        )
                    }),
                    replayed,
                }
            }
        };
        *lock(&replica.status) = status;
        replicas.forget_replayed_writes();
    }
}

fn down(detail: String) -> Status {
    Status {
        state: ReplicaState::Down,
        lag: None,
        detail: Some(detail),
        replayed: 0,
    }
}

/// When the primary's WAL reached which positions: each entry is the first
/// time a probe saw the position (or a higher one), oldest first.
#[derive(Debug)]
struct PrimaryHistory {
    samples: VecDeque<(Instant, u64)>,
    /// Samples older than this are merged away; any lag this long or longer
    /// is reported as at least this long.
    window: Duration,
}

impl PrimaryHistory {
    fn new(window: Duration) -> Self {
        Self {
            samples: VecDeque::new(),
            window,
        }
    }

    fn record(&mut self, at: Instant, position: u64) {
        if self.samples.back().is_none_or(|&(_, last)| position > last) {
            self.samples.push_back((at, position));
        }
        // Keep one sample older than the window, so that a replica behind
        // all of them still reads as lagging by at least the window.
        while self
            .samples
            .get(1)
            .is_some_and(|&(time, _)| at.saturating_duration_since(time) > self.window)
        {
            self.samples.pop_front();
        }
    }

    /// How long ago the primary first had WAL past `replayed`: zero when
    /// the replica has replayed every sampled position.
    fn lag(&self, replayed: u64, now: Instant) -> Duration {
        self.samples
            .iter()
            .find(|&&(_, position)| position > replayed)
            .map_or(Duration::ZERO, |&(time, _)| {
                now.saturating_duration_since(time)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_unreplayed_sample() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut history = PrimaryHistory::new(Duration::from_secs(60));
        history.record(at(0), 100);
        history.record(at(1), 100);
        history.record(at(2), 200);
        history.record(at(3), 300);
        assert_eq!(history.lag(300, at(4)), Duration::ZERO);
        assert_eq!(history.lag(250, at(4)), Duration::from_secs(1));
        assert_eq!(history.lag(150, at(4)), Duration::from_secs(2));
        // An idle primary: the replica that has everything is not behind.
        assert_eq!(history.lag(300, at(3600)), Duration::ZERO);
        assert_eq!(history.lag(50, at(10)), Duration::from_secs(10));
    }

    #[test]
    fn old_samples_merge_but_lagging_stays_lagging() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut history = PrimaryHistory::new(Duration::from_secs(5));
        for second in 0..100 {
            history.record(at(second), 1000 + second);
        }
        assert!(history.samples.len() <= 7, "{:?}", history.samples);
        assert!(history.lag(0, at(100)) > Duration::from_secs(5));
        assert_eq!(history.lag(1099, at(100)), Duration::ZERO);
    }
}
