//! The `keyhound` binary: parse the command line, run, map the outcome to an exit code
//! (0 clean, 1 findings, 2 usage or runtime error).

use std::process::ExitCode;

use clap::Parser;
use keyhound::{app, cli::Cli, diag};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let broken_pipe = err.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            diag::error(format_args!("{err:#}"));
            ExitCode::from(2)
        }
    }
}
