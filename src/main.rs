//! The process boundary: parse arguments, run, map the outcome to an exit code.
//! 0 = clean, 1 = finished but some input was skipped (see stderr), 2 = fatal error.

use std::process::ExitCode;

fn main() -> ExitCode {
    match trailgraph::cli::main() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("trailgraph: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
