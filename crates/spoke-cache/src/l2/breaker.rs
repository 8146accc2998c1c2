//! A circuit breaker, so that a dead Redis costs a mutex lock instead of a
//! command timeout on every request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Commands flow; counts consecutive failures.
    Closed { failures: u32 },
    /// No command until `until`; then one probe is let through.
    Open { until: Instant },
    /// One probe is in flight since `since`; everything else is refused
    /// until it reports, or until a cool-down passes (a caller may drop the
    /// probe's future without reporting).
    HalfOpen { since: Instant },
}

/// Closed → open after `threshold` consecutive failures → half-open (one
/// probe) after `cooldown` → closed on the probe's success, open again on
/// its failure.
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a command may be sent now. In the open state this is the
    /// whole cost of a cache call.
    pub(crate) fn allow(&self) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let probe = match *state {
            State::Closed { .. } => return true,
            State::Open { until } => now >= until,
            State::HalfOpen { since } => now >= since + self.cooldown,
        };
        if probe {
            *state = State::HalfOpen { since: now };
        }
        probe
    }

    pub(crate) fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    pub(crate) fn failure(&self) {
        let mut state = self.lock();
        let failures = match *state {
            State::Closed { failures } => failures + 1,
            // A failed probe, or a command sent before the breaker opened.
            State::HalfOpen { .. } | State::Open { .. } => self.threshold,
        };
        *state = if failures >= self.threshold {
            State::Open {
                until: Instant::now() + self.cooldown,
            }
        } else {
            State::Closed { failures }
        };
    }

    /// Whether a command would be refused now (the breaker is open, or a
    /// probe is still pending).
    pub(crate) fn is_refusing(&self) -> bool {
        let now = Instant::now();
        match *self.lock() {
            State::Closed { .. } => false,
            State::Open { until } => now < until,
            State::HalfOpen { since } => now < since + self.cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value: a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let breaker = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(breaker.allow());
            breaker.failure();
        }
        assert!(!breaker.is_refusing());
        breaker.failure();
        assert!(breaker.is_refusing());
        assert!(!breaker.allow(), "open refuses");

        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "one probe after the cool-down");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.failure();
        assert!(!breaker.allow(), "a failed probe reopens");

        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow());
        breaker.success();
        assert!(!breaker.is_refusing());
        assert!(breaker.allow());
    }

    #[test]
    fn success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        breaker.failure();
        breaker.success();
        breaker.failure();
        assert!(!breaker.is_refusing());
    }
}
