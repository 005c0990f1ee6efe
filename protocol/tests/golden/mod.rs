//! Generated files committed under spec/ (the test vectors): reading them back, rewriting
//! them on request, and checking that they are what the generator makes. Shared by the
//! record vectors (tests/vectors/) and the reconciliation vectors
//! (tests/reconcile/vectors.rs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

/// The `*.json` files directly in `dir`, by file name.
pub fn committed(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|extension| extension == "json") {
            let name = path.file_name().and_then(|name| name.to_str()).expect("a UTF-8 file name").to_owned();
            files.insert(name, std::fs::read_to_string(&path).expect("a readable vector"));
        }
    }
    files
}

/// With KVITT_BLESS=1, rewrites `dir`'s files from `render` (once per test binary, before
/// any test reads them) and removes those the generator no longer makes.
pub fn bless_if_asked(dir: &Path, render: impl FnOnce() -> BTreeMap<String, String>) {
    static BLESS: Once = Once::new();
    BLESS.call_once(|| {
        if std::env::var("KVITT_BLESS").as_deref() != Ok("1") {
            return;
        }
        std::fs::create_dir_all(dir).expect("create the vectors' directory");
        let generated = render();
        for name in committed(dir).keys().filter(|name| !generated.contains_key(*name)) {
            std::fs::remove_file(dir.join(name)).expect("remove a stale vector");
        }
        for (name, text) in &generated {
            if std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(text) {
                std::fs::write(dir.join(name), text).expect("write a vector");
            }
        }
    });
}

/// Panics, naming each file missing, stale or different, unless `dir` holds exactly
/// `generated`; `regenerate` is the command that rewrites them.
pub fn assert_matches(dir: &Path, generated: &BTreeMap<String, String>, generator: &str, regenerate: &str) {
    let committed = committed(dir);
    let mut problems = Vec::new();
    for name in generated.keys().filter(|name| !committed.contains_key(*name)) {
        problems.push(format!("missing: {name}"));
    }
    for name in committed.keys().filter(|name| !generated.contains_key(*name)) {
        problems.push(format!("not generated (stale): {name}"));
    }
    for (name, text) in generated {
        if committed.get(name).is_some_and(|committed| committed != text) {
            problems.push(format!("differs: {name}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} does not match the generator in {generator}:\n  {}\n\
         If the change is intended, regenerate with `{regenerate}` and review the diff.",
        dir.display(),
        problems.join("\n  ")
    );
}
