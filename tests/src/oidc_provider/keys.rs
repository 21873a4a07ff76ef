//! The provider's RSA keys: the one that signs now, which the JWKS lists alone.

use openidconnect::core::{CoreJsonWebKeySet, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};

/// A private key with its key id.
pub struct SigningKey(CoreRsaPrivateSigningKey);

impl SigningKey {
    /// A fresh RSA 2048 key named `kid`.
    pub fn generate(kid: &str) -> Self {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        // openidconnect takes RSA keys as PEM only.
        let pem = key.to_pkcs1_pem(LineEnding::LF).expect("the key as PEM");
        let key = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into())))
            .expect("openidconnect reads the key");
        Self(key)
    }

    pub fn private(&self) -> &CoreRsaPrivateSigningKey {
        &self.0
    }
}

pub struct Keys {
    current: SigningKey,
    /// How many keys have signed so far, to name the next one.
    made: u32,
}

impl Keys {
    pub fn new() -> Self {
        Self {
            current: SigningKey::generate("key-1"),
            made: 1,
        }
    }

    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// A new key takes over, and the old one is forgotten.
    pub fn rotate(&mut self) {
        self.made += 1;
        self.current = SigningKey::generate(&format!("key-{}", self.made));
    }

    /// The public half of the current key: the only key the provider vouches for.
    pub fn published(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![self.current.0.as_verification_key()])
    }
}
