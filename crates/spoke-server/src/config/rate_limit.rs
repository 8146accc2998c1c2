//! `SPOKE_RATE_LIMIT_*` and `SPOKE_TRUSTED_PROXIES`: per-client request
//! budgets, and which peers may name the client in `X-Forwarded-For`.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::table::{self, Setting};
use super::{ConfigError, Raw, values};

/// The highest rate accepted: one request per microsecond, far above what
/// one server answers, so that the refill interval never rounds to zero.
const MAX_PER_SECOND: f64 = 1_000_000.0;
const MAX_BURST: u64 = 1_000_000;

pub(super) const RATE_FORM: &str =
    "a number of requests per second from 0 (off) to 1000000, such as 5, 100 or 0.5";
pub(super) const BURST_FORM: &str = "a whole number of requests from 0 to 1000000";
pub(super) const PROXIES_FORM: &str = "a comma-separated list of IP addresses or CIDR blocks, such as 10.0.0.0/8, 192.168.1.10, fd00::/8";

/// Token buckets per client: what a client may send.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimitSettings {
    /// `SPOKE_RATE_LIMIT_RPS` and `SPOKE_RATE_LIMIT_BURST`: every API
    /// request (writes too, unless they have a limit of their own). `None`
    /// is off.
    pub requests: Option<RateLimit>,
    /// `SPOKE_RATE_LIMIT_WRITE_RPS` and `SPOKE_RATE_LIMIT_WRITE_BURST`:
    /// pushes, module and policy changes and the compiling checks (validate,
    /// lint, compatibility), in a bucket apart from reads. `None`: writes
    /// count against [`requests`](Self::requests).
    pub writes: Option<RateLimit>,
}

impl RateLimitSettings {
    /// Whether any request is limited.
    pub fn enabled(&self) -> bool {
        self.requests.is_some() || self.writes.is_some()
    }
}

/// One token bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second: the sustained request rate.
    pub per_second: f64,
    /// The bucket's size: how many requests a rested client may send at once.
    pub burst: u32,
}

impl RateLimit {
    /// The time the bucket takes to win back one token; `None` for a rate
    /// that is not a positive number up to 1,000,000 with a representable
    /// interval (only settings built in code can hold one).
    pub fn refill_interval(&self) -> Option<Duration> {
        if !(self.per_second > 0.0 && self.per_second <= MAX_PER_SECOND) {
            return None;
        }
        Duration::try_from_secs_f64(1.0 / self.per_second).ok()
    }
}

pub(super) fn rate_limit_settings(raw: &Raw) -> Result<RateLimitSettings, ConfigError> {
    Ok(RateLimitSettings {
        requests: bucket(raw, &table::RATE_LIMIT_RPS, &table::RATE_LIMIT_BURST)?,
        writes: bucket(
            raw,
            &table::RATE_LIMIT_WRITE_RPS,
            &table::RATE_LIMIT_WRITE_BURST,
        )?,
    })
}

/// A rate and its burst: rate 0 is off (and a burst alone is an error, not
/// silently nothing); burst 0 is one second's worth of the rate.
fn bucket(
    raw: &Raw,
    rate: &Setting<f64>,
    burst: &Setting<u32>,
) -> Result<Option<RateLimit>, ConfigError> {
    let per_second = raw.value(rate)?;
    let burst_size = raw.value(burst)?;
    if per_second == 0.0 {
        if burst_size != 0 {
            return Err(ConfigError::Conflict {
                var: burst.doc.var(),
                message: format!(
                    "{burst_size} has no effect without {} (the rate; 0 turns the limit off)",
                    rate.doc.var()
                ),
            });
        }
        return Ok(None);
    }
    let burst = if burst_size == 0 {
        // At least 1: a bucket of 0 would refuse every request.
        per_second.ceil().max(1.0) as u32
    } else {
        burst_size
    };
    Ok(Some(RateLimit { per_second, burst }))
}

/// A bucket size: a whole number up to [`MAX_BURST`].
pub(super) fn burst(raw: &str) -> Option<u32> {
    values::unsigned(raw)
        .filter(|n| *n <= MAX_BURST)
        .and_then(|n| u32::try_from(n).ok())
}

/// A plain decimal number (`5`, `0.5`, `12.25`): no sign, exponent or
/// `inf`, which `f64::from_str` would take.
pub(super) fn per_second(raw: &str) -> Option<f64> {
    let mut parts = raw.splitn(2, '.');
    let whole = parts.next()?;
    let fraction = parts.next();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    if raw.bytes().all(|b| b == b'0' || b == b'.') {
        return Some(0.0);
    }
    // Positive, so a rate too small to represent is refused, not read as off.
    let rate = raw.parse::<f64>().ok()?;
    let limit = RateLimit {
        per_second: rate,
        burst: 1,
    };
    limit.refill_interval().map(|_| rate)
}

/// A `SPOKE_TRUSTED_PROXIES` entry: an address (one host) or a CIDR block.
pub(super) fn network(raw: &str) -> Option<IpNet> {
    if raw.contains('/') {
        // `10.1.2.3/8` means the block `10.0.0.0/8`.
        raw.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        raw.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_plain_decimals() {
        assert_eq!(per_second("5"), Some(5.0));
        assert_eq!(per_second("0.5"), Some(0.5));
        assert_eq!(per_second("0"), Some(0.0));
        assert_eq!(per_second("1000000"), Some(1_000_000.0));
        assert_eq!(per_second("0.000"), Some(0.0));
        let tiny = format!("0.{}1", "0".repeat(400));
        assert_eq!(per_second(&tiny), None);
        for bad in [
            "", "-1", "+1", "1e3", "inf", "NaN", ".5", "5.", "1.2.3", "1000001", " 5",
        ] {
            assert_eq!(per_second(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn networks_are_addresses_or_blocks() {
        let net = |s: &str| network(s).map(|n| n.to_string());
        assert_eq!(net("10.0.0.0/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(net("10.1.2.3/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(net("192.168.1.10").as_deref(), Some("192.168.1.10/32"));
        assert_eq!(net("fd00::/8").as_deref(), Some("fd00::/8"));
        assert_eq!(net("::1").as_deref(), Some("::1/128"));
        for bad in [
            "",
            "10.0.0.0/33",
            "proxy.internal",
            "10.0.0/8",
            "1.2.3.4:80",
        ] {
            assert_eq!(network(bad), None, "{bad:?}");
        }
    }
}
