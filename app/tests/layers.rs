//! The source tree keeps the architecture: the web layers (pages and API) reach the core only
//! through the studio, and no two top-level modules import each other, directly or round a
//! circle.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// What `http/` and `api/` may not name: the studio is their one door to them.
const BEHIND_THE_STUDIO: [&str; 5] = ["gallery", "bedrock", "guard", "storage", "availability"];

#[test]
fn the_web_layer_reaches_the_core_only_through_the_studio() {
    let graph = imports();
    for web in ["http", "api"] {
        let reached: Vec<&String> = graph[web]
            .iter()
            .filter(|module| BEHIND_THE_STUDIO.contains(&module.as_str()))
            .collect();
        assert!(reached.is_empty(), "{web}/ imports {reached:?}");
    }
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let graph = imports();
    let mut circles = Vec::new();
    for (module, uses) in &graph {
        for other in uses {
            if module < other && reaches(&graph, other, module) {
                circles.push([module.as_str(), other.as_str()]);
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:?}");
}

/// Whether `from` imports `to`, directly or through other modules.
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut next = vec![from.to_owned()];
    while let Some(module) = next.pop() {
        if module == to {
            return true;
        }
        if seen.insert(module.clone()) {
            next.extend(graph.get(&module).into_iter().flatten().cloned());
        }
    }
    false
}

/// Each top-level module of `src/` and the other top-level modules its files name.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("a path");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = fs::read_to_string(&file).expect("a readable source file");
        let named = graph.entry(module.clone()).or_default();
        named.extend(crate_paths(&text).into_iter().filter(|m| *m != module));
    }
    graph
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules named after `crate::` in code (comments left out), including each
/// one inside a `crate::{…}` group.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => named.extend(group_heads(group)),
            None => named.extend(identifier(rest)),
        }
    }
    named
}

/// The first name of each path in a `{…}` group, up to its closing brace.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if at_start && depth == 0 && !c.is_whitespace() => {
                at_start = false;
                heads.extend(identifier(&group[i..]));
            }
            _ => {}
        }
    }
    heads
}

fn identifier(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}
