//! The wire core: the header, the two block layouts, whole packets, their limits and
//! errors. No I/O, no allocation on the parse path, `no_std`; everything above it in
//! the crate is built on these types, and nothing here imports from above.

pub(crate) mod array;
#[cfg(feature = "alloc")]
pub(crate) mod builder;
pub(crate) mod convert;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod field;
pub(crate) mod header;
pub(crate) mod limits;
pub(crate) mod packet;
pub(crate) mod status;
pub(crate) mod vars;

pub use array::{Array, ArrayIter};
#[cfg(feature = "alloc")]
pub use builder::{ArrayBuilder, VarsBuilder};
pub use encode::{encode_array, encode_vars, Pair};
pub use error::{EncodeError, ParseError, ParseErrorKind};
pub use header::{BlockKind, Header, Modifier1, HEADER_LEN};
pub use limits::{Limits, MAX_ITEMS_IN_BLOCK, MAX_PAIRS_IN_BLOCK};
pub use packet::{Packet, Payload};
pub use status::Status;
pub use vars::{is_magic_var, Var, Vars, VarsIndex, VarsIter};
