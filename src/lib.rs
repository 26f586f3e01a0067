//! keyhound: finds leaked secrets in files, streams, git history and staged changes, and says
//! how to rotate them.
//!
//! Data flow: sources → chunks → engine → raw matches → findings → filters → reports.

pub mod allow;
pub mod app;
pub mod audit;
pub mod baseline;
pub mod ci;
pub mod ci_system;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod context;
pub mod diag;
pub mod engine;
pub mod escape;
pub mod finding;
pub mod git_date;
pub mod github_event;
pub mod gitleaks;
pub mod history;
pub mod hook;
pub mod key_material;
pub mod keycheck;
pub mod output_file;
pub mod path_context;
pub mod policy_file;
pub mod policy_paths;
pub mod prepush;
pub mod provenance;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod staged;
pub mod trusted_policy;
pub mod validate;
