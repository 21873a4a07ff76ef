//! Who is asking. Today that is an anonymous browser, known by a random owner id that the
//! web layer keeps in a signed cookie.

mod owner;

pub use owner::OwnerId;
