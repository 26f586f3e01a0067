//! The `keyhound` binary: parse the command line, run, map the outcome to an exit code
//! (0 clean, 1 findings, 2 usage or runtime error).

use std::process::ExitCode;

use keyhound::{app, cmd::flags, diag};

fn main() -> ExitCode {
    let cli = flags::try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit());
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
