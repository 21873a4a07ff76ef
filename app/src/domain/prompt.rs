use std::fmt;

/// Prompt text as the model will receive it: trimmed, non-empty, within the model's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt(String);

impl Prompt {
    /// `what` names the field in the message ("prompt", "negative prompt").
    pub fn parse(raw: &str, max_chars: usize, what: &str) -> Result<Self, String> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(format!("Write a {what} first."));
        }
        if chars > max_chars {
            return Err(format!(
                "The {what} is {chars} characters long; this model takes at most {max_chars}."
            ));
        }
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(format!("The {what} contains control characters."));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_is_trimmed() {
        assert_eq!(
            Prompt::parse("  a fox \n", 10, "prompt").unwrap().as_str(),
            "a fox"
        );
    }

    #[test]
    fn an_empty_prompt_is_refused() {
        assert_eq!(
            Prompt::parse("   ", 10, "prompt").unwrap_err(),
            "Write a prompt first."
        );
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert!(Prompt::parse("ééééé", 5, "prompt").is_ok());
        let err = Prompt::parse("éééééé", 5, "prompt").unwrap_err();
        assert!(
            err.contains("6 characters") && err.contains("at most 5"),
            "{err}"
        );
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(Prompt::parse("a\u{0}b", 10, "prompt").is_err());
    }
}
