//! Deadlines for the drivers' timeouts: `now + timeout` that never overflows, so that
//! `Duration::MAX` (the usual way to say "no limit") waits for ever instead of panicking,
//! as tokio's own `timeout` does.

#[cfg(feature = "client")]
use std::future::{poll_fn, Future};
#[cfg(feature = "client")]
use std::pin::{pin, Pin};
#[cfg(feature = "client")]
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
#[cfg(feature = "client")]
use tokio::time::{sleep_until, Sleep};

/// About 30 years: later than any wait ends (tokio's own "far future").
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `timeout` from now, or a far future one when that overflows.
pub(crate) fn after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + FAR)
}

/// `fut`'s output, or `None` when `limit` passes first, counted from its first poll.
/// The timer is `timer`'s, made and registered with the runtime only when `fut` has to
/// wait, and the clock read only then: an operation done at its first poll (a write
/// to a socket with room) costs neither, where `tokio::time::timeout` takes the
/// runtime's handle and reads the clock every time. One `timer` serves a run of waits
/// (connect, then the response head): a later deadline only moves the registered
/// entry, without the timer wheel's lock, and dropping it deregisters it once.
#[cfg(feature = "client")]
pub(crate) async fn within<F: Future>(
    mut timer: Pin<&mut Option<Sleep>>,
    limit: Duration,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    // The first poll is at once: the time it took is not worth a clock read.
    let mut deadline = None;
    poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        let deadline = *deadline.get_or_insert_with(|| after(limit));
        if timer.is_none() {
            timer.set(Some(sleep_until(deadline)));
        }
        match timer.as_mut().as_pin_mut() {
            Some(mut sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep.poll(cx).map(|()| None)
            }
            // Set just above.
            None => Poll::Ready(None),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_longest_timeout_does_not_overflow() {
        let far = super::after(std::time::Duration::MAX);
        assert!(far > tokio::time::Instant::now() + std::time::Duration::from_secs(86_400));
    }
}
