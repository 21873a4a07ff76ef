use std::fmt;

use rand::Rng;

/// The seed a picture is generated from. Easel always sends a concrete one, so every image can be
/// made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(u64);

impl Seed {
    pub fn parse(raw: &str, min: u64, max: u64) -> Result<Self, String> {
        let out_of_range = || format!("The seed must be a whole number from {min} to {max}.");
        let value: u64 = raw.trim().parse().map_err(|_| out_of_range())?;
        if (min..=max).contains(&value) {
            Ok(Self(value))
        } else {
            Err(out_of_range())
        }
    }

    /// The seed a form asks for: `mode` "fixed" takes `raw`, anything else draws one.
    pub fn from_form(mode: &str, raw: &str, min: u64, max: u64) -> Result<Self, String> {
        match mode {
            "fixed" => Self::parse(raw, min, max),
            _ => Ok(Self::random(min, max)),
        }
    }

    pub fn random(min: u64, max: u64) -> Self {
        Self(rand::rng().random_range(min..=max))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// The seed of the `n`-th image of a batch, wrapping within the model's range.
    pub fn nth(self, n: u64, min: u64, max: u64) -> Self {
        let span = max - min + 1;
        Self(min + (self.0 - min + n) % span)
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_outside_the_range_names_the_range() {
        assert_eq!(
            Seed::parse("0", 1, 9).unwrap_err(),
            "The seed must be a whole number from 1 to 9."
        );
        assert!(Seed::parse("-3", 0, 9).is_err());
        assert!(Seed::parse("4.5", 0, 9).is_err());
        assert_eq!(Seed::parse(" 9 ", 0, 9).unwrap().value(), 9);
    }

    #[test]
    fn a_random_seed_stays_in_range() {
        for _ in 0..100 {
            let seed = Seed::random(1, 3).value();
            assert!((1..=3).contains(&seed));
        }
    }

    #[test]
    fn batch_seeds_wrap_within_the_range() {
        let seed = Seed::parse("9", 1, 10).unwrap();
        let seeds: Vec<u64> = (0..3).map(|n| seed.nth(n, 1, 10).value()).collect();
        assert_eq!(seeds, [9, 10, 1]);
    }
}
