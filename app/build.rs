//! Takes htmx from its npm registry package at build time, so no third-party file lives in the
//! repo. `EASEL_HTMX_JS` may name an already fetched `htmx.min.js` (offline or Docker builds).

use std::{env, fs, path::PathBuf, process::Command};

const HTMX_PACKAGE: &str = "htmx.org@2.0.11";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=EASEL_HTMX_JS");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = out_dir.join("htmx.min.js");

    if let Ok(given) = env::var("EASEL_HTMX_JS") {
        println!("cargo::rerun-if-changed={given}");
        fs::copy(&given, &target).unwrap_or_else(|e| panic!("EASEL_HTMX_JS={given}: {e}"));
        return;
    }
    if target.exists() {
        return;
    }
    let packed = Command::new("npm")
        .args(["pack", HTMX_PACKAGE, "--silent", "--pack-destination"])
        .arg(&out_dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("running `npm pack {HTMX_PACKAGE}` (is Node.js installed?): {e}")
        });
    assert!(
        packed.status.success(),
        "`npm pack {HTMX_PACKAGE}` failed: {}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let tarball = String::from_utf8_lossy(&packed.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(out_dir.join(&tarball))
        .arg("-C")
        .arg(&out_dir)
        .arg("package/dist/htmx.min.js")
        .status()
        .expect("running tar");
    assert!(status.success(), "could not unpack {tarball}");
    fs::rename(out_dir.join("package/dist/htmx.min.js"), &target).expect("moving htmx.min.js");
}
