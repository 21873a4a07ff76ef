//! The operators: the people, by e-mail address, who may see what the deployment spends.

use std::collections::BTreeSet;

use super::Person;

/// E-mail addresses, lowercased: providers differ in the case they report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admins(BTreeSet<String>);

impl Admins {
    /// Comma-separated addresses, like `ana@example.com, bo@example.com`; empty: nobody.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Ok(Self::default());
        }
        raw.split(',')
            .map(|address| {
                let address = address.trim();
                is_address(address)
                    .then(|| address.to_lowercase())
                    .ok_or_else(|| format!("{address:?} is not an e-mail address"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn include(&self, person: &Person) -> bool {
        person
            .email
            .as_deref()
            .is_some_and(|email| self.0.contains(&email.trim().to_lowercase()))
    }
}

/// One `@` between a local part and a dotted domain, nothing blank or spaced.
fn is_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
    !local.is_empty()
        && labels_ok
        && !domain.contains('@')
        && address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: Option<&str>) -> Person {
        Person {
            owner: super::super::OwnerId::new_random(),
            email: email.map(str::to_owned),
            name: None,
        }
    }

    #[test]
    fn admins_are_matched_by_address_whatever_its_case() {
        let admins = Admins::parse(" Ana@Example.com ,bo@example.org").unwrap();
        assert!(admins.include(&person(Some("ana@example.COM"))));
        assert!(admins.include(&person(Some("bo@example.org"))));
        assert!(!admins.include(&person(Some("cy@example.org"))));
        assert!(!admins.include(&person(None)));
        assert!(!Admins::parse("").unwrap().include(&person(Some(""))));
    }

    #[test]
    fn anything_but_an_address_is_refused() {
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "ana@@example.com",
            "ana @example.com",
            "ana@example..com",
            "ana@example.com,",
        ] {
            assert!(Admins::parse(bad).is_err(), "{bad:?}");
        }
    }
}
