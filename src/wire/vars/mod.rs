//! The vars block ("dictionary"): `u16le klen | key | u16le vlen | value`, repeated.
//!
//! - `view`: the validated view [`Vars`], its iterator and its lookups by key;
//! - `grammar`: the block's grammar, checked once by [`Vars::parse`];
//! - `content_length`: the strict `CONTENT_LENGTH` rule ([`Vars::content_length`]);
//! - `index`: the pairs stored in caller-provided slots ([`Vars::index`], [`VarsIndex`]);
//! - `magic`: uWSGI's magic `UWSGI_*` vars ([`is_magic_var`]).

mod content_length;
mod grammar;
mod index;
mod magic;
mod view;

pub(crate) use content_length::parse_decimal;
pub use index::VarsIndex;
pub use magic::is_magic_var;
pub use view::{Var, Vars, VarsIter};
