//! Reverse-mode automatic differentiation.
//!
//! `tape` holds the recording machinery (a `Var` is a tensor plus, when it needs a gradient,
//! the index of the node that made it); `ops` is the table of derivative rules: each function
//! runs a forward kernel from `crate::ops` and records, right beside it, the closure that
//! turns the output's gradient into its inputs' gradients.

mod ops;
mod tape;

pub use ops::*;
pub use tape::{Param, Tape, Var};
