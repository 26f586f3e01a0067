//! Commands whose wiring has moved out of `app`: one file per command, calling the library
//! below and the helpers `app` shares (policy loading, report output).

pub mod flags;
pub mod git;
pub mod merge;
pub mod rules;
