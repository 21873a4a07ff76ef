//! Numbered, timed steps for the lifecycle commands: each prints its name and duration, and a
//! failure names the step and says what to do next.

use std::time::Instant;

use anyhow::{Context, Result};

pub struct Steps {
    command: &'static str,
    number: usize,
    started: Instant,
}

impl Steps {
    pub fn new(command: &'static str) -> Self {
        Self {
            command,
            number: 0,
            started: Instant::now(),
        }
    }

    /// Runs one step. `next` tells the operator what to do when it fails.
    pub fn run<T>(
        &mut self,
        name: &str,
        next: &str,
        step: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.number += 1;
        let number = self.number;
        println!("==> [{number}] {name}");
        let timer = Instant::now();
        let value = step().with_context(|| {
            format!(
                "{} failed at step {number} `{name}`. Next: {next}",
                self.command
            )
        })?;
        println!(
            "==> [{number}] {name}: done in {:.1} s",
            timer.elapsed().as_secs_f64()
        );
        Ok(value)
    }

    pub fn finish(&self) {
        println!(
            "==> {} finished in {:.1} s",
            self.command,
            self.started.elapsed().as_secs_f64()
        );
    }
}
