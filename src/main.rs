//! The process boundary: parse the arguments (`cli`), run the command (`cmd`), and map the
//! outcome to an exit code: 0 clean, 1 finished but some input was skipped (see stderr),
//! 2 fatal error. A closed pipe (`trailgraph … | head`) ends the run quietly with 0.

mod cli;
mod cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cmd::run(cli::parse()) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("trailgraph: error: {e:#}");
            ExitCode::from(cmd::ExitCode::Fatal as u8)
        }
    }
}
