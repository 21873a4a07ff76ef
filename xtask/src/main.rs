//! Easel's lifecycle tool, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! Plain Rust instead of shell scripts: each command is a flags struct in `flags.rs` with a
//! `run(self, sh)` in its own module.

mod agreements;
mod aws;
mod bench;
mod catalogue;
mod ci;
mod deploy;
mod destroy;
mod dev;
#[cfg(test)]
mod edge;
mod flags;
mod image;
mod lifecycle;
mod local_aws;
mod plan;
#[cfg(test)]
mod policy;
mod processes;
mod push;
mod smoke;
mod stack;
mod steps;
mod terminal;
mod terraform;
mod users;

use std::path::{Path, PathBuf};

use clap::Parser;
use xshell::Shell;

fn main() -> anyhow::Result<()> {
    let flags = flags::Xtask::parse();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match flags.command {
        flags::Command::Dev(cmd) => cmd.run(&sh),
        flags::Command::Run(cmd) => cmd.run(&sh),
        flags::Command::Bench(cmd) => cmd.run(&sh),
        flags::Command::Ci(cmd) => cmd.run(&sh),
        flags::Command::Codegen(_) => catalogue::write(&sh),
        flags::Command::Image(cmd) => cmd.run(&sh),
        flags::Command::Push(cmd) => cmd.run(&sh),
        flags::Command::Plan(cmd) => cmd.run(&sh),
        flags::Command::Deploy(cmd) => cmd.run(&sh),
        flags::Command::Smoke(cmd) => cmd.run(&sh),
        flags::Command::Destroy(cmd) => cmd.run(&sh),
        flags::Command::Users(cmd) => cmd.run(&sh),
    }
}

/// The workspace root: every command runs from there.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
