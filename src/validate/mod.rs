//! Opt-in live validation: ask a secret's own provider whether it still works.
//!
//! Nothing here runs unless `--validate` is given. The validators prepare requests and read
//! answers; they do no I/O themselves.

pub mod aws;
pub mod google;
pub mod request;
