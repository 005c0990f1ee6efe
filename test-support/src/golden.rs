//! Generated files committed under spec/ (the test vectors): reading them back, rewriting
//! them on request (`KVITT_BLESS=1`), and checking that they are what the generator makes.
//! One [`Golden`] per directory of vectors; each suite renders its own files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The environment variable that, set to `1`, rewrites committed files from the generator.
pub const BLESS: &str = "KVITT_BLESS";

/// A directory of committed `*.json` files and the generator they must equal.
#[derive(Debug, Clone)]
pub struct Golden {
    dir: PathBuf,
    generator: &'static str,
    regenerate: &'static str,
}

impl Golden {
    /// The files directly in `dir`, made by the code at `generator` (named in a failure),
    /// rewritten by the command `regenerate`.
    pub fn new(dir: impl Into<PathBuf>, generator: &'static str, regenerate: &'static str) -> Golden {
        Golden { dir: dir.into(), generator, regenerate }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The committed `*.json` files, by file name.
    pub fn committed(&self) -> BTreeMap<String, String> {
        let dir = &self.dir;
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|extension| extension == "json") {
                let name =
                    path.file_name().and_then(|name| name.to_str()).expect("a UTF-8 file name").to_owned();
                files.insert(name, std::fs::read_to_string(&path).expect("a readable vector"));
            }
        }
        files
    }

    /// With `KVITT_BLESS=1`, rewrites the files from `render`, once per directory and test
    /// binary, before any test of that binary reads them (the others wait).
    pub fn bless_if_asked(&self, render: impl FnOnce() -> BTreeMap<String, String>) {
        static BLESSED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
        let mut blessed = BLESSED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if std::env::var(BLESS).as_deref() == Ok("1") && blessed.insert(self.dir.clone()) {
            self.bless(&render());
        }
    }

    /// Makes the directory hold exactly `generated`: writes what differs, removes the files
    /// the generator no longer makes, leaves the rest untouched.
    pub fn bless(&self, generated: &BTreeMap<String, String>) {
        std::fs::create_dir_all(&self.dir).expect("create the vectors' directory");
        for name in self.committed().keys().filter(|name| !generated.contains_key(*name)) {
            std::fs::remove_file(self.dir.join(name)).expect("remove a stale vector");
        }
        for (name, text) in generated {
            if std::fs::read_to_string(self.dir.join(name)).ok().as_ref() != Some(text) {
                std::fs::write(self.dir.join(name), text).expect("write a vector");
            }
        }
    }

    /// Panics, naming each file missing, stale or different, unless the directory holds
    /// exactly `generated`.
    pub fn assert_matches(&self, generated: &BTreeMap<String, String>) {
        let committed = self.committed();
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
            "{} does not match the generator in {}:\n  {}\n\
             If the change is intended, regenerate with `{}` and review the diff.",
            self.dir.display(),
            self.generator,
            problems.join("\n  "),
            self.regenerate
        );
    }

    /// The whole "committed files match the generator" test: blesses if asked, then asserts.
    pub fn check(&self, render: impl Fn() -> BTreeMap<String, String>) {
        self.bless_if_asked(&render);
        self.assert_matches(&render());
    }
}

/// Rendered files by file name; panics if two share a name (one would hide the other).
pub fn by_name(files: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut named = BTreeMap::new();
    for (name, text) in files {
        assert!(!named.contains_key(&name), "two vectors are named {name}");
        named.insert(name, text);
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect()
    }

    fn golden(dir: &Path) -> Golden {
        Golden::new(dir, "the test", "bless it")
    }

    #[test]
    fn bless_writes_what_differs_and_removes_the_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stale.json"), "old").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        let generated = files(&[("a.json", "A\n"), ("b.json", "B\n")]);
        golden(dir.path()).bless(&generated);
        assert_eq!(golden(dir.path()).committed(), generated);
        assert!(dir.path().join("notes.txt").exists(), "only *.json files are the vectors");
        golden(dir.path()).assert_matches(&generated);
    }

    #[test]
    fn a_mismatch_names_each_file_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        golden(dir.path()).bless(&files(&[("same.json", "S"), ("changed.json", "old"), ("stale.json", "x")]));
        let generated = files(&[("same.json", "S"), ("changed.json", "new"), ("new.json", "n")]);
        let failure = std::panic::catch_unwind(|| golden(dir.path()).assert_matches(&generated)).unwrap_err();
        let message = failure.downcast_ref::<String>().unwrap();
        for expected in
            ["missing: new.json", "not generated (stale): stale.json", "differs: changed.json", "`bless it`"]
        {
            assert!(message.contains(expected), "{expected:?} not in {message}");
        }
        assert!(!message.contains("same.json"));
    }

    #[test]
    #[should_panic(expected = "two vectors are named a.json")]
    fn two_files_of_one_name_are_refused() {
        by_name([("a.json".to_owned(), "1".to_owned()), ("a.json".to_owned(), "2".to_owned())]);
    }
}
