//! Takes htmx and its SSE extension from their npm registry packages at build time, so no
//! third-party file lives in the repo. `EASEL_HTMX_JS` and `EASEL_HTMX_SSE_JS` may name already
//! fetched files (offline or Docker builds).

use std::{env, fs, path::Path, process::Command};

/// (package, file inside it, name in OUT_DIR, variable naming a fetched copy)
const SCRIPTS: [(&str, &str, &str, &str); 2] = [
    (
        "htmx.org@2.0.11",
        "package/dist/htmx.min.js",
        "htmx.min.js",
        "EASEL_HTMX_JS",
    ),
    (
        "htmx-ext-sse@2.2.4",
        "package/dist/sse.min.js",
        "sse.min.js",
        "EASEL_HTMX_SSE_JS",
    ),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (package, file, name, variable) in SCRIPTS {
        fetch(Path::new(&out_dir), package, file, name, variable);
    }
}

fn fetch(out_dir: &Path, package: &str, file: &str, name: &str, variable: &str) {
    println!("cargo::rerun-if-env-changed={variable}");
    let target = out_dir.join(name);
    if let Ok(given) = env::var(variable) {
        println!("cargo::rerun-if-changed={given}");
        fs::copy(&given, &target).unwrap_or_else(|e| panic!("{variable}={given}: {e}"));
        return;
    }
    if target.exists() {
        return;
    }
    let packed = Command::new("npm")
        .args(["pack", package, "--silent", "--pack-destination"])
        .arg(out_dir)
        .output()
        .unwrap_or_else(|e| panic!("running `npm pack {package}` (is Node.js installed?): {e}"));
    assert!(
        packed.status.success(),
        "`npm pack {package}` failed: {}",
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
        .arg(out_dir)
        .arg(file)
        .status()
        .expect("running tar");
    assert!(status.success(), "could not unpack {tarball}");
    fs::rename(out_dir.join(file), &target).unwrap_or_else(|e| panic!("moving {name}: {e}"));
}
