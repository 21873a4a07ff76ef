//! Questions to the operator at the terminal.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

/// Prints `question` and returns the line typed in answer, trimmed.
pub fn ask(question: &str) -> Result<String> {
    print!("{question} ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(answer.trim().to_owned())
}
