//! Deadlines for the drivers' timeouts: `now + timeout` that never overflows, so that
//! `Duration::MAX` (the usual way to say "no limit") waits for ever instead of panicking,
//! as tokio's own `timeout` does.

use std::time::Duration;

use tokio::time::Instant;

/// About 30 years: later than any wait ends (tokio's own "far future").
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `timeout` from now, or a far future one when that overflows.
pub(crate) fn after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + FAR)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_longest_timeout_does_not_overflow() {
        let far = super::after(std::time::Duration::MAX);
        assert!(far > tokio::time::Instant::now() + std::time::Duration::from_secs(86_400));
    }
}
