//! A panic in one decode must fail that request, not the process: `catch_unwind` around the
//! decoders only catches a panic that unwinds, so no profile may abort on panic, least of all
//! the release profile the image is built with.

use std::{fs, path::Path};

#[test]
fn every_build_profile_unwinds_on_panic() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("the workspace manifest");
    let workspace: toml::Table = text.parse().expect("a TOML manifest");
    let profiles = workspace.get("profile").and_then(toml::Value::as_table);
    assert!(profiles.is_some_and(|p| p.contains_key("release")));
    for (name, profile) in profiles.into_iter().flatten() {
        let panic = profile.get("panic").and_then(toml::Value::as_str);
        assert_ne!(panic, Some("abort"), "profile {name} aborts on panic");
    }
}
