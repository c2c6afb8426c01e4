// SPDX-License-Identifier: Apache-2.0
//! Fails when an async function is exported without `async_runtime = "tokio"`.
//!
//! Core's async code needs a tokio reactor (reqwest, timers); UniFFI polls exported futures
//! from the foreign executor, so an export without the attribute panics at the first I/O
//! ("there is no reactor running") on a phone, and no Rust unit test would notice. This test
//! reads every source file of the crate and checks each `#[uniffi::export…]` item.

use std::fs;
use std::path::{Path, PathBuf};

/// One offending export: file and the attribute's line.
#[derive(Debug, PartialEq, Eq)]
struct Offence {
    file: String,
    line: usize,
}

/// Returns the exports of `source` that contain an `async fn` but whose attribute lacks
/// `async_runtime = "tokio"`. Foreign traits (`with_foreign`, `callback_interface`) are
/// skipped: their async methods run on the foreign side.
fn offences(file: &str, source: &str) -> Vec<Offence> {
    let mut found = Vec::new();
    let mut rest = source;
    let mut offset = 0;
    while let Some(pos) = rest.find("#[uniffi::export") {
        let start = offset + pos;
        let attr_end = match matching(source, start + 1, b'[', b']') {
            Some(end) => end,
            None => break,
        };
        let attr: String = source[start..=attr_end].split_whitespace().collect();
        let item = item_text(source, attr_end + 1);
        let foreign = attr.contains("with_foreign") || attr.contains("callback_interface");
        let is_async = item
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w == ["async", "fn"]);
        if is_async && !foreign && !attr.contains("async_runtime=\"tokio\"") {
            found.push(Offence {
                file: file.to_string(),
                line: source[..start].lines().count() + 1,
            });
        }
        offset = attr_end + 1;
        rest = &source[offset..];
    }
    found
}

/// The item after an attribute: up to the end of its first `{…}` block, or to `;`.
fn item_text(source: &str, from: usize) -> &str {
    let bytes = source.as_bytes();
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'{' => {
                let end = matching(source, i, b'{', b'}').unwrap_or(source.len() - 1);
                return &source[from..=end];
            }
            b';' => return &source[from..=i],
            _ => {}
        }
    }
    &source[from..]
}

/// Index of the bracket closing the one at `open_at` (which must be `open`).
fn matching(source: &str, open_at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in source.as_bytes().iter().enumerate().skip(open_at) {
        if b == open {
            depth += 1;
        } else if b == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_async_export_names_the_tokio_runtime() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() >= 2, "no sources found under {}", src.display());
    let mut all = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).expect("utf-8 source");
        all.extend(offences(&f.display().to_string(), &text));
    }
    assert!(
        all.is_empty(),
        "async exports without #[uniffi::export(async_runtime = \"tokio\")]: {all:?}"
    );
}

#[test]
fn checker_flags_missing_runtime_and_accepts_good_ones() {
    let bad = "#[uniffi::export]\nimpl W {\n    pub async fn go(&self) {}\n}\n";
    assert_eq!(
        offences("x.rs", bad),
        vec![Offence {
            file: "x.rs".into(),
            line: 1
        }]
    );
    let bad_fn = "struct A;\n#[uniffi::export]\npub async fn go() -> u8 { 1 }\n";
    assert_eq!(offences("y.rs", bad_fn).len(), 1);
    assert_eq!(offences("y.rs", bad_fn)[0].line, 2);
    let other_runtime = "#[uniffi::export(async_runtime = \"async-std\")]\npub async fn go() {}";
    assert_eq!(offences("z.rs", other_runtime).len(), 1);

    let good =
        "#[uniffi::export(async_runtime = \"tokio\")]\nimpl W {\n  pub async fn go(&self) {}\n}";
    assert!(offences("g.rs", good).is_empty());
    let sync = "#[uniffi::export]\nimpl W {\n  pub fn go(&self) { let s = \"async fn\"; }\n}";
    assert!(offences("s.rs", sync).is_empty());
    let plain =
        "#[uniffi::export]\nimpl W {\n  pub fn go(&self) {}\n}\n#[uniffi::export]\npub fn f() {}";
    assert!(offences("p.rs", plain).is_empty());
    let foreign =
        "#[uniffi::export(with_foreign)]\npub trait T: Send + Sync {\n  async fn f(&self);\n}";
    assert!(offences("f.rs", foreign).is_empty());
}
