//! One error type for everything a user can get wrong: bad files, wrong shapes, no GPU.
//! Each carries one line meant for the user; the binary prints it and exits non-zero.
//! Programmer errors inside the engine (an op called with mismatched shapes) panic instead.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Builds an `Err(Error)` from a format string: `return fail!("no image in {dir}")`.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { Err($crate::error::Error(format!($($arg)*))) };
}

/// Adds what was being done to an error from a library: `.context("reading x.png")?`.
pub trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        // Some libraries end their messages with a newline or spread them over lines; the
        // user gets one line.
        self.map_err(|e| {
            let text = e.to_string();
            let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
            Error(format!("{what}: {one_line}"))
        })
    }
}
