//! `cargo xtask dev`: Easel offline against the Bedrock double; `cargo xtask run`: against AWS.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{
    flags,
    processes::{self, Profile},
};

impl flags::Dev {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        TcpListener::bind(address).with_context(|| {
            format!(
                "port {} is taken: stop what uses it, or pass --port <another>",
                self.port
            )
        })?;

        let binaries = processes::build(sh, Profile::Debug)?;
        let options: &[&str] = if self.all_live { &["--all-live"] } else { &[] };
        let mut double = processes::start_double(&binaries.double, options)?;
        let storage = sh.current_dir().join("easel-data");
        let env = processes::offline_env(double.url(), &storage);
        let mut easel = processes::start_easel(
            &binaries.easel,
            address,
            &env,
            std::process::Stdio::inherit(),
        )?;

        println!(
            "Easel is running at http://{address} (offline: pictures are placeholders from the Bedrock double)"
        );
        if self.all_live {
            println!("Every model is live in the double, the retired Titan family too.");
        }
        println!(
            "Pictures are kept in {}. Press Ctrl-C to stop.",
            storage.display()
        );
        let waited = processes::wait_for_ctrl_c(&mut [&mut easel, &mut double.process]);
        println!("Stopping Easel and the Bedrock double.");
        // Easel first, so it never sees its Bedrock vanish while it is still serving.
        drop(easel);
        drop(double);
        waited
    }
}

impl flags::Run {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let args = self.args;
        // `--bin`, not `-p`: the workspace's features, as every other cargo command here.
        cmd!(sh, "cargo run --release --bin easel -- {args...}")
            .run()
            .context("cargo run --release --bin easel")?;
        Ok(())
    }
}
