//! A person signed in through the OpenID Connect provider.

use super::OwnerId;

/// Who a signed-in request comes from. The owner id keys everything the person has (gallery,
/// jobs, quota, daily cap); e-mail and name are for showing, as the provider gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub owner: OwnerId,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Person {
    /// What the page shows as the one signed in: the name, else the e-mail, else the owner id.
    pub fn shown_as(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(self.owner.as_str())
    }
}
