//! Who is asking: a person signed in through an OpenID Connect provider (a session in the
//! store), a script with one of their personal access tokens, or, with sign-in off, an
//! anonymous browser known by a random owner id that the web layer keeps in a signed cookie.

mod admins;
pub mod oidc;
mod owner;
mod person;
mod session;
mod settings;
mod tokens;

pub use admins::Admins;
pub use oidc::{Oidc, PendingSignIn, SignedIn};
pub use owner::OwnerId;
pub use person::Person;
pub use session::{Session, SessionId, Sessions};
pub use settings::{ClientSecret, Issuer, OidcSettings, PublicUrl};
pub use tokens::{MAX_NAME_CHARS, Token, TokenHash, TokenInfo, TokenName, Tokens};

use crate::storage::StorageError;

/// Why a sign-in, a sign-out or a session look-up failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("session store: {0}")]
    Store(#[from] StorageError),
    /// The provider could not be reached or answered nonsense: nobody's fault in the browser.
    #[error("the sign-in provider is unreachable: {0}")]
    ProviderUnreachable(String),
    /// The provider said no (`error=` at the callback).
    #[error("the provider refused the sign-in: {0}")]
    ProviderRefused(String),
    /// The callback does not belong to a sign-in this browser started, or came too late.
    #[error("the callback matches no sign-in in flight: {0}")]
    NoSignInInFlight(&'static str),
    /// The provider refused the code (reused, expired) or its ID token failed a check.
    #[error("the sign-in could not be verified: {0}")]
    NotVerified(String),
}
