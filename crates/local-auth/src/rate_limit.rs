//! Failed password sign-ins per (client IP, email) in a fixed window. Once a
//! pair has used its failures, every attempt is refused until the window
//! ends, the right password included: otherwise a success would still tell
//! a guesser when to stop. Memory is bounded: at most `capacity` pairs;
//! when full, ended windows are dropped first, then the oldest window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Longest email kept in a key (longer input shares the truncated key).
const MAX_EMAIL_BYTES: usize = 320;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub failures: u32,
    pub window: Duration,
    pub capacity: usize,
}

impl Default for Limits {
    /// 10 failed attempts per 5 minutes per IP and email, 10,000 pairs.
    fn default() -> Self {
        Self {
            failures: 10,
            window: Duration::from_secs(300),
            capacity: 10_000,
        }
    }
}

struct Window {
    started: Instant,
    failures: u32,
}

pub struct SignInLimiter {
    limits: Limits,
    windows: HashMap<(IpAddr, String), Window>,
}

fn key(ip: IpAddr, email: &str) -> (IpAddr, String) {
    let mut end = email.len().min(MAX_EMAIL_BYTES);
    while !email.is_char_boundary(end) {
        end -= 1;
    }
    (ip, email[..end].to_lowercase())
}

impl SignInLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: HashMap::new(),
        }
    }

    /// Whether this pair may try a password now.
    pub fn allows(&self, ip: IpAddr, email: &str, now: Instant) -> bool {
        match self.windows.get(&key(ip, email)) {
            Some(window) if now.duration_since(window.started) < self.limits.window => {
                window.failures < self.limits.failures
            }
            _ => true,
        }
    }

    /// Counts a failed attempt.
    pub fn record_failure(&mut self, ip: IpAddr, email: &str, now: Instant) {
        let key = key(ip, email);
        if !self.windows.contains_key(&key) && self.windows.len() >= self.limits.capacity {
            self.make_room(now);
        }
        let window_length = self.limits.window;
        let window = self.windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= window_length {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
    }

    fn make_room(&mut self, now: Instant) {
        let window_length = self.limits.window;
        self.windows
            .retain(|_, window| now.duration_since(window.started) < window_length);
        if self.windows.len() >= self.limits.capacity {
            let oldest = self
                .windows
                .iter()
                .min_by_key(|(_, window)| window.started)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.windows.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn limiter(capacity: usize) -> SignInLimiter {
        SignInLimiter::new(Limits {
            failures: 3,
            window: Duration::from_secs(60),
            capacity,
        })
    }

    #[test]
    fn refuses_after_the_failures_until_the_window_ends() {
        let mut limiter = limiter(10);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.allows(IP, "a@x.io", start));
            limiter.record_failure(IP, "A@x.io", start);
        }
        assert!(!limiter.allows(IP, "a@x.io", start));
        assert!(limiter.allows(IP, "b@x.io", start), "per email");
        let other_ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
        assert!(limiter.allows(other_ip, "a@x.io", start), "per IP");
        assert!(limiter.allows(IP, "a@x.io", start + Duration::from_secs(61)));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut limiter = limiter(100);
        let start = Instant::now();
        for n in 0..10_000 {
            limiter.record_failure(
                IP,
                &format!("user{n}@x.io"),
                start + Duration::from_millis(n),
            );
        }
        assert!(limiter.len() <= 100);
        // The newest pair is still counted.
        assert!(!limiter.is_empty());
        limiter.record_failure(IP, "user9999@x.io", start + Duration::from_millis(10_000));
        limiter.record_failure(IP, "user9999@x.io", start + Duration::from_millis(10_001));
        assert!(!limiter.allows(IP, "user9999@x.io", start + Duration::from_millis(10_002)));
    }

    #[test]
    fn very_long_emails_share_a_bounded_key() {
        let long = "é".repeat(1000);
        assert!(key(IP, &long).1.len() <= MAX_EMAIL_BYTES);
    }
}
