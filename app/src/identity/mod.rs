//! Who is asking: an anonymous browser, known by a random owner id that the web layer keeps in
//! a signed cookie, or a person signed in through the identity provider.

mod admins;
mod owner;
mod person;

pub use admins::Admins;
pub use owner::OwnerId;
pub use person::Person;
