//! A person signed in through the identity provider.

use super::OwnerId;

/// Who a signed-in request comes from; the session puts it in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Derived from the provider's (issuer, subject): the key to their pictures, jobs and budget.
    pub owner: OwnerId,
    pub email: Option<String>,
    pub name: Option<String>,
}
