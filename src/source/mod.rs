//! Sources: where articles come from.

pub mod decode;
