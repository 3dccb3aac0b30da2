//! hyper's header-read timeout on one tokio timer per connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's `Timer` for one HTTP/1.1 connection, whose one timer is the header-read
/// timeout. hyper asks for a new sleep for every request head; `TokioTimer` makes each
/// a boxed tokio `Sleep`, put in the timer wheel and taken out of it once per request.
/// Here every sleep of the connection waits on one tokio timer, registered once: the
/// deadlines of a connection only grow, so the timer is moved only when it fires
/// before the deadline of the sleep polled then (once per timeout, not per request).
/// The guarantee is hyper's: a head not read within its timeout ends the connection.
#[derive(Clone, Default)]
pub struct ConnTimer(Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>);

impl hyper::rt::Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep {
            deadline: deadline.into(),
            timer: self.clone(),
        })
    }
}

/// One of hyper's sleeps: its deadline, on the connection's timer.
struct HeadSleep {
    deadline: tokio::time::Instant,
    timer: ConnTimer,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let mut slot = self.timer.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sleep = slot.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() > deadline {
            // Never later than the deadline polled.
            sleep.as_mut().reset(deadline);
        }
        loop {
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if sleep.deadline() >= deadline => return Poll::Ready(()),
                // An earlier head's deadline: on to this one's.
                Poll::Ready(()) => sleep.as_mut().reset(deadline),
            }
        }
    }
}

impl hyper::rt::Sleep for HeadSleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn each_sleep_ends_at_its_own_deadline_on_one_timer() {
        let timer = ConnTimer::default();
        let start = Instant::now();
        // A head read in time: its sleep, polled once, is dropped before its deadline.
        let first = timer.sleep(200 * MS);
        assert!(tokio::time::timeout(10 * MS, first).await.is_err());
        tokio::time::sleep(100 * MS).await;
        // The next head's timeout is whole, past the first one's deadline.
        timer.sleep(200 * MS).await;
        let waited = start.elapsed();
        assert!(waited >= 300 * MS, "{waited:?}");
        // A shorter one after a longer one is not held back by it.
        let long = timer.sleep(60_000 * MS);
        assert!(tokio::time::timeout(MS, long).await.is_err());
        let at = Instant::now();
        timer.sleep(50 * MS).await;
        let waited = at.elapsed();
        assert!(waited >= 50 * MS && waited < 5_000 * MS, "{waited:?}");
    }
}
