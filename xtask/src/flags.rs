//! The command line of `cargo xtask`.

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Easel's lifecycle tool")]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run Easel offline against the Bedrock double (no AWS account needed).
    Dev(Dev),
    /// Run Easel against real AWS (release build; arguments go to `easel`).
    Run(Run),
    /// Measure page weight, server overhead and memory against the design's targets.
    Bench(Bench),
    /// Run every check CI runs, in order, stopping at the first failure.
    Ci(Ci),
}

#[derive(Args)]
pub struct Dev {
    /// Make every model live in the double, the retired Titan family too.
    #[arg(long)]
    pub all_live: bool,
    /// Port for Easel on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

#[derive(Args)]
pub struct Run {
    /// Passed to `easel` as they are, e.g. `-- --listen 127.0.0.1:9000`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args)]
pub struct Bench {
    /// Exit with an error when a target is missed.
    #[arg(long)]
    pub check: bool,
    /// Timed generations (and as many direct calls to the double).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(100..=10_000))]
    pub generations: u32,
}

#[derive(Args)]
pub struct Ci {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Xtask::command().debug_assert();
    }

    #[test]
    fn run_passes_flags_through() {
        let flags = Xtask::parse_from(["xtask", "run", "--listen", "127.0.0.1:9000"]);
        let Command::Run(run) = flags.command else {
            panic!("not run")
        };
        assert_eq!(run.args, ["--listen", "127.0.0.1:9000"]);
    }
}
