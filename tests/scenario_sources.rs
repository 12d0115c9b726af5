//! Every `source` in a shipped scenario can be followed by a reader who has only the repository
//! and the web: no notes outside the repository, no "seed article" nobody else can open.

use std::path::{Path, PathBuf};

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read scenarios") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Every `source = "..."` string in the tree, with the dotted key that holds it.
fn sources(value: &toml::Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match (k.as_str(), v) {
                    ("source", toml::Value::String(s)) => out.push((key, s.clone())),
                    _ => sources(v, &key, out),
                }
            }
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                sources(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Why `source` cannot be followed from outside, if it cannot.
fn unresolvable(source: &str, root: &Path) -> Option<String> {
    let lower = source.to_lowercase();
    for (needle, why) in [
        ("shared/", "names notes outside the repository (`shared/`)"),
        ("../", "names a path outside the repository (`../`)"),
        (
            "seed article",
            "cites a \"seed article\" no reader can open",
        ),
        ("file://", "links a local file"),
    ] {
        if lower.contains(needle) {
            return Some(why.to_string());
        }
    }
    for token in source.split(|c: char| c.is_whitespace() || c == ';' || c == ',') {
        let token = token.trim_matches(|c: char| matches!(c, '(' | ')' | '.' | ':'));
        if token.starts_with("http://") || token.starts_with("https://") {
            let host = token.split("//").nth(1).unwrap_or("");
            if !host.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Some(format!("has an address without a host: {token}"));
            }
            continue;
        }
        // A file path must be one in this repository.
        let looks_like_file = token.contains('/')
            && [".md", ".txt", ".toml", ".csv", ".json", ".pdf"]
                .iter()
                .any(|ext| token.ends_with(ext));
        if token.starts_with('/') || token.starts_with('~') {
            return Some(format!("names an absolute path: {token}"));
        }
        if looks_like_file && !root.join(token).is_file() {
            return Some(format!("names a file not in the repository: {token}"));
        }
    }
    None
}

#[test]
fn every_shipped_scenario_source_is_resolvable_by_an_outside_reader() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    toml_files(&root.join("scenarios"), &mut files);
    files.sort();
    assert!(files.len() >= 10, "found the shipped scenarios: {files:?}");
    let mut bad = Vec::new();
    let mut count = 0;
    let mut with_address = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let value: toml::Value = toml::from_str(&text).expect("valid TOML");
        let mut found = Vec::new();
        sources(&value, "", &mut found);
        for (key, source) in found {
            count += 1;
            with_address += usize::from(source.contains("https://"));
            if source.trim().is_empty() {
                bad.push(format!("{}: {key}: empty source", file.display()));
            } else if let Some(why) = unresolvable(&source, root) {
                bad.push(format!("{}: {key}: {why}: {source:?}", file.display()));
            }
        }
    }
    assert!(bad.is_empty(), "unresolvable sources:\n{}", bad.join("\n"));
    assert!(count > 50, "read the sources ({count})");
    assert!(
        with_address > 20,
        "sources carry addresses ({with_address})"
    );
}

#[test]
fn the_check_refuses_what_an_outside_reader_cannot_open() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for bad in [
        "shared/domain/gsomia-2019.md (What happened next)",
        "Seed article",
        "Yonhap; seed article (the line)",
        "../notes/facts.md",
        "/home/me/facts.txt",
        "docs/missing.md",
        "file:///tmp/page.html",
    ] {
        assert!(unresolvable(bad, root).is_some(), "{bad}");
    }
    for good in [
        "Yonhap AEN20191122001800325, https://m-en.yna.co.kr/view/AEN20191122001800325",
        "Japan Times 2019/10/16",
        "docs/model.md",
        "GSOMIA Article 21, https://en.wikisource.org/wiki/Page:Japan-Korea_GSOMIA_(English_Text).pdf/10",
    ] {
        assert_eq!(unresolvable(good, root), None, "{good}");
    }
}

#[test]
fn a_source_naming_a_path_outside_the_repository_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_cmd::Command::cargo_bin("alliance-sim")
        .expect("binary")
        .current_dir(dir.path())
        .args(["init", "mine"])
        .assert()
        .success();
    let file = dir.path().join("mine.toml");
    let text = std::fs::read_to_string(&file).expect("starter");
    let line = text
        .lines()
        .position(|l| l.starts_with("source = \"Illustrative\""))
        .expect("the starter cites a source")
        + 1;
    for (bad, path) in [
        (
            "../shared/domain/notes.md (2019)",
            "../shared/domain/notes.md",
        ),
        ("Seed article; /home/me/seed.txt", "/home/me/seed.txt"),
    ] {
        std::fs::write(
            &file,
            text.replace("source = \"Illustrative\"", &format!("source = \"{bad}\"")),
        )
        .expect("write");
        let out = assert_cmd::Command::cargo_bin("alliance-sim")
            .expect("binary")
            .env("NO_COLOR", "1")
            .arg("validate")
            .arg(&file)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("mine.toml:{line}:")),
            "located at the source's line {line}: {stderr}"
        );
        assert!(stderr.contains(&format!("`{path}`")), "{stderr}");
        assert!(
            stderr.contains("https://"),
            "the hint says what to cite: {stderr}"
        );
    }
    // An address or a path inside the repository is fine.
    std::fs::write(
        &file,
        text.replace(
            "source = \"Illustrative\"",
            "source = \"Yonhap, https://en.yna.co.kr/view/AEN1; docs/model.md\"",
        ),
    )
    .expect("write");
    assert_cmd::Command::cargo_bin("alliance-sim")
        .expect("binary")
        .arg("validate")
        .arg(&file)
        .assert()
        .success();
}
