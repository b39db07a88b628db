//! Repository-wide rules that a reviewer would otherwise repeat.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let root = repo_root();
    let mut files = Vec::new();
    for top in ["scheduler", "plugins", "jobs", "tests"] {
        rust_files(&root.join(top), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! module doc: {missing:#?}"
    );
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_versions() {
    let list = |backend: &str| -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(repo_root().join("migrations").join(backend))
                .expect("migrations dir")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
        names.sort();
        names
    };
    let (sqlite, postgres) = (list("sqlite"), list("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[test]
fn only_the_sanctioned_files_contain_unsafe_code() {
    let root = repo_root();
    let mut files = Vec::new();
    for top in ["scheduler", "plugins", "jobs"] {
        rust_files(&root.join(top), &mut files);
    }
    let allowed = [
        "plugins/src/ffi.rs",
        "plugins/src/abi.rs",
        "scheduler/src/plugin/load.rs",
    ];
    let offenders: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .filter(|rel| !allowed.contains(&rel.as_str()))
        .filter(|rel| {
            let text = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
            text.contains("unsafe {")
                || text.contains("unsafe extern")
                || text.contains("unsafe impl")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe code outside the FFI seams: {offenders:?}"
    );
}
