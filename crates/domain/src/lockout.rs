//! Login throttling that an outsider cannot hold against someone else.
//!
//! Failures are counted per (account, client address). After a few free
//! attempts each further failure makes that address wait longer before it
//! may try that account again, growing up to the configured lock time at the
//! threshold (with the defaults, 5 failures and 15 minutes: the 3rd failure
//! waits 3¾ minutes, the 4th 7½, the 5th 15). A correct password from an
//! address that has not failed is never refused because of another
//! address's failures. The count starts again after a success, and when a
//! lock or wait has run out with no further failure for the lock time.
//!
//! Pure rules: the store keeps one [`Failures`] per (account, address).

/// The configured policy (`[security]` `lockout_failures`, `lockout_minutes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures in a row at which the address waits the whole lock time.
    pub threshold: u32,
    /// The longest wait (the lock), in milliseconds.
    pub lock_ms: i64,
}

/// Failures of one account from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Failures in a row.
    pub count: u32,
    /// When the last one happened (Unix ms).
    pub last_ms: i64,
    /// No attempt from this address is checked before this instant (Unix ms;
    /// at or before `last_ms` when there is no wait).
    pub blocked_until_ms: i64,
}

impl LockoutPolicy {
    pub fn new(threshold: u32, lock_minutes: u32) -> Self {
        LockoutPolicy {
            threshold: threshold.max(1),
            lock_ms: i64::from(lock_minutes) * 60_000,
        }
    }

    /// The wait after the `count`-th failure in a row: none for the first
    /// ones, then the lock time halved once for each failure short of the
    /// threshold (two steps), the whole lock time from the threshold on.
    pub fn wait_after(&self, count: u32) -> i64 {
        let t = self.threshold;
        if count >= t {
            self.lock_ms
        } else if count + 2 >= t && count > 0 {
            self.lock_ms >> (t - count)
        } else {
            0
        }
    }

    /// The failures that still count at `now`: none once a wait or lock has
    /// run out, or the last failure is older than the lock time.
    pub fn current(&self, f: Option<Failures>, now_ms: i64) -> Option<Failures> {
        let f = f?;
        let expired = if f.count >= self.threshold {
            now_ms >= f.blocked_until_ms
        } else {
            now_ms >= f.blocked_until_ms.max(f.last_ms + self.lock_ms)
        };
        (!expired).then_some(f)
    }

    /// Until when an attempt from this address is refused unchecked, if it is.
    pub fn blocked_until(&self, f: Option<Failures>, now_ms: i64) -> Option<i64> {
        self.current(f, now_ms)
            .map(|f| f.blocked_until_ms)
            .filter(|&t| t > now_ms)
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(&self, f: Option<Failures>, now_ms: i64) -> Failures {
        let count = self
            .current(f, now_ms)
            .map_or(1, |f| f.count.saturating_add(1));
        Failures {
            count,
            last_ms: now_ms,
            blocked_until_ms: now_ms + self.wait_after(count),
        }
    }

    /// Whether this failure state is a full lock (the threshold reached).
    pub fn is_lock(&self, f: &Failures) -> bool {
        f.count >= self.threshold
    }
}

/// The address failures are counted under: an IPv4 address as it is, an
/// IPv6 address by its /64 network (one subscriber's usual allocation, so
/// that rotating through it does not earn fresh attempts).
pub fn address_key(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| address.to_owned(), |v4| v4.to_string()),
        _ => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn policy() -> LockoutPolicy {
        LockoutPolicy::new(5, 15)
    }

    #[test]
    fn waits_grow_to_the_lock() {
        let p = policy();
        let waits: Vec<i64> = (1..=6).map(|n| p.wait_after(n)).collect();
        assert_eq!(
            waits,
            vec![0, 0, 15 * MIN / 4, 15 * MIN / 2, 15 * MIN, 15 * MIN]
        );
        let one = LockoutPolicy::new(1, 15);
        assert_eq!(one.wait_after(1), 15 * MIN);
    }

    #[test]
    fn failures_in_a_row_then_the_lock_runs_out() {
        let p = policy();
        let t0 = 1_000_000;
        let mut f = None;
        let mut at = t0;
        for n in 1..=5u32 {
            // Each attempt comes as soon as it is allowed.
            if let Some(until) = p.blocked_until(f, at) {
                at = until;
            }
            let next = p.after_failure(f, at);
            assert_eq!(next.count, n);
            f = Some(next);
        }
        let f = f.unwrap();
        assert!(p.is_lock(&f));
        // The 5th failure came at t0 + 3¾ + 7½ minutes; the lock is 15 more.
        let fifth = t0 + 15 * MIN / 4 + 15 * MIN / 2;
        assert_eq!(f.last_ms, fifth);
        assert_eq!(p.blocked_until(Some(f), fifth + 1), Some(fifth + 15 * MIN));
        assert_eq!(
            p.blocked_until(Some(f), fifth + 15 * MIN - 1),
            Some(fifth + 15 * MIN)
        );
        // When the lock runs out, the count starts again.
        assert_eq!(p.current(Some(f), fifth + 15 * MIN), None);
        assert_eq!(p.after_failure(Some(f), fifth + 15 * MIN).count, 1);
    }

    #[test]
    fn ipv6_addresses_count_by_their_network() {
        assert_eq!(address_key("10.0.0.7"), "10.0.0.7");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_eq!(address_key("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_ne!(
            address_key("2001:db8:1:3::9"),
            address_key("2001:db8:1:2::9")
        );
        assert_eq!(address_key("::ffff:10.0.0.7"), "10.0.0.7");
        assert_eq!(address_key("unknown"), "unknown");
    }

    #[test]
    fn old_failures_are_forgotten() {
        let p = policy();
        let f = Failures {
            count: 2,
            last_ms: 0,
            blocked_until_ms: 0,
        };
        assert_eq!(p.current(Some(f), 15 * MIN - 1), Some(f));
        assert_eq!(p.current(Some(f), 15 * MIN), None);
        assert_eq!(p.after_failure(Some(f), 15 * MIN).count, 1);
        assert_eq!(p.after_failure(Some(f), 15 * MIN - 1).count, 3);
    }
}
