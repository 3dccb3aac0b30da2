//! The outcome of parsing input that may not have fully arrived yet.

/// The result of parsing input that may not have fully arrived yet.
///
/// Short input is never an error: `Partial` says how many more bytes are needed at
/// least (read that many, append, parse again from the start).
///
/// ```
/// use uwsgi_wire::{Limits, Packet, Status};
///
/// let ping = [0x64, 0x00, 0x00, 0x00];
/// assert_eq!(Packet::parse(&ping[..1], &Limits::new())?, Status::Partial { needed: 3 });
/// let Status::Complete((packet, consumed)) = Packet::parse(&ping, &Limits::new())? else { unreachable!() };
/// assert_eq!(consumed, 4);
/// assert!(packet.payload().as_bytes().is_empty());
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Status<T> {
    /// The value is complete.
    Complete(T),
    /// More input is needed: at least `needed` more bytes.
    Partial {
        /// The minimum number of bytes still missing (never 0).
        needed: usize,
    },
}

impl<T> Status<T> {
    /// True for `Complete`.
    ///
    /// ```
    /// assert!(uwsgi_wire::Status::Complete(1).is_complete());
    /// ```
    pub const fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }

    /// True for `Partial`.
    ///
    /// ```
    /// assert!(uwsgi_wire::Status::<()>::Partial { needed: 1 }.is_partial());
    /// ```
    pub const fn is_partial(&self) -> bool {
        matches!(self, Status::Partial { .. })
    }

    /// The complete value, or `None`.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::Status::Complete(7).complete(), Some(7));
    /// ```
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(value) => Some(value),
            Status::Partial { .. } => None,
        }
    }

    /// Maps the complete value.
    ///
    /// ```
    /// use uwsgi_wire::Status;
    /// assert_eq!(Status::Complete(2).map(|n| n * 2), Status::Complete(4));
    /// assert_eq!(Status::<u8>::Partial { needed: 3 }.map(|n| n * 2), Status::Partial { needed: 3 });
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Complete(value) => Status::Complete(f(value)),
            Status::Partial { needed } => Status::Partial { needed },
        }
    }
}
