//! Flood control per client: a burst, then a steady rate (RFC 1459 section
//! 8.10's "message timer", which is a token bucket counted in time).
//!
//! Each line moves the client's timer `interval` ahead (starting from now if
//! it is behind); a line is handled at once while the timer is less than
//! `burst * interval` ahead of now. Lines beyond that wait in the client's
//! queue and are handled as the timer comes back (on the hub's ticks), in
//! order; a client whose queue overflows is disconnected (`Excess Flood`).
//! Time comes from the caller, so tests are deterministic.

use std::time::Duration;

/// The flood rule. [`Flood::relaxed`] disables it (benchmarks, as ngircd's
/// `MaxPenaltyTime = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    /// Lines accepted at once after a quiet period.
    pub burst: u32,
    /// Steady rate: one line per `interval`.
    pub interval: Duration,
    /// Lines that may wait; one more disconnects the client.
    pub queue: usize,
    /// False: every line is handled at once.
    pub enabled: bool,
}

impl Default for Flood {
    /// 10 lines at once, then 4 a second, 40 waiting at most: a person
    /// pasting a paragraph is slowed down, never cut off.
    fn default() -> Self {
        Flood {
            burst: 10,
            interval: Duration::from_millis(250),
            queue: 40,
            enabled: true,
        }
    }
}

impl Flood {
    pub fn relaxed() -> Self {
        Flood {
            enabled: false,
            ..Flood::default()
        }
    }
}

/// One client's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    timer: Duration,
}

impl Bucket {
    /// Takes one line's worth at `now` if the rule allows it.
    pub fn try_take(&mut self, rule: &Flood, now: Duration) -> bool {
        if !rule.enabled {
            return true;
        }
        let timer = self.timer.max(now);
        if timer - now >= rule.interval * rule.burst {
            return false;
        }
        self.timer = timer + rule.interval;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let rule = Flood::default();
        let mut b = Bucket::default();
        let t0 = ms(1_000);
        for i in 0..10 {
            assert!(b.try_take(&rule, t0), "line {i} of the burst");
        }
        assert!(!b.try_take(&rule, t0));
        // Then one line per interval.
        assert!(b.try_take(&rule, t0 + ms(1)));
        assert!(!b.try_take(&rule, t0 + ms(1)));
        assert!(!b.try_take(&rule, t0 + ms(250)));
        assert!(b.try_take(&rule, t0 + ms(251)));
        assert!(!b.try_take(&rule, t0 + ms(500)));
        assert!(b.try_take(&rule, t0 + ms(501)));
        // After a quiet period the whole burst is back.
        let later = t0 + ms(60_000);
        for _ in 0..10 {
            assert!(b.try_take(&rule, later));
        }
        assert!(!b.try_take(&rule, later));
    }

    #[test]
    fn relaxed_takes_everything() {
        let mut b = Bucket::default();
        let rule = Flood::relaxed();
        assert!((0..10_000).all(|_| b.try_take(&rule, ms(0))));
    }
}
