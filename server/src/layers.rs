// SPDX-License-Identifier: Apache-2.0
//! The server's one-way chain of modules, checked: every module of `server/src/` has a rank
//! here, and a module may name (through a `crate::` path) only modules of a lower rank, or
//! itself. Modules
//! of one rank are siblings: features never import each other. The chain is drawn in
//! `docs/ARCHITECTURE.md` ("The server's module chain"), which must name every module.

use std::collections::BTreeMap;
use std::path::Path;

/// Every module of the crate and its rank, bottom (0) to top. `lib.rs` (the crate root, the
/// entry points) is above them all; the binary (`bin/vistalid-server/`) is another crate.
const RANKS: &[(&str, u8)] = &[
    // Pure vocabulary: no state, no I/O.
    ("secrets", 0),
    ("limits", 0),
    ("attestation", 0),
    ("relying_party", 0),
    ("metrics", 0),
    // Offline-code secrets at rest (issue 16, branch otp16).
    ("offline_seal", 0),
    ("domain", 1),
    // Time-ordered ids and token keys (issue 19, branch ordered).
    ("ordered", 1),
    // The store: all SQL.
    ("store", 2),
    // The shared layer.
    ("error", 3),
    // Push delivery (issue 20): reads and removes tokens through the store.
    ("push", 3),
    ("api", 3),
    ("pages", 3),
    ("config", 4),
    // The signing keys and their rotation (issue 19, branch keys19).
    ("keyring", 4),
    ("state", 5),
    ("clients", 6),
    ("login", 6),
    ("credentials", 6),
    ("id_token", 6),
    ("refusals", 6),
    // Features, one per audience.
    ("oidc", 7),
    ("device", 7),
    ("qr", 7),
    ("admin", 7),
    ("openapi", 7),
    ("browser", 7),
    ("ops", 7),
    // The top.
    ("router", 8),
    ("serve", 8),
    // This check.
    ("layers", 9),
];

/// The top module a source file belongs to (`oidc/ciba.rs` → `oidc`); `None` for the crate
/// roots.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    // `lib.rs` is the crate root; `bin/` holds the server binary, another crate (its
    // `crate::` is the binary's own modules).
    (name != "lib" && name != "bin").then(|| name.to_owned())
}

/// The top modules a source text names through `crate::` paths, `use crate::{a, b::c}`
/// groups included, with the line of each.
fn named_modules(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `vistalid_crate::` or `$crate::`
        }
        let line = text[..at].matches('\n').count() + 1;
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        out.push((ident(&group[i..]), line));
                        item_start = false;
                    }
                    c if !c.is_whitespace() => item_start = false,
                    _ => {}
                }
            }
        } else {
            out.push((ident(rest), line));
        }
    }
    out.retain(|(name, _)| !name.is_empty());
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read server/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The violations of the chain in `files` (relative path, text).
fn violations(files: &[(std::path::PathBuf, String)]) -> Vec<String> {
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut found = Vec::new();
    for (relative, text) in files {
        // This file's own text is examples of violations, not imports.
        let Some(module) = module_of(relative).filter(|m| m != "layers") else {
            continue;
        };
        let Some(&rank) = ranks.get(module.as_str()) else {
            found.push(format!(
                "{}: module `{module}` has no rank",
                relative.display()
            ));
            continue;
        };
        for (named, line) in named_modules(text) {
            if named == module {
                continue;
            }
            match ranks.get(named.as_str()) {
                Some(&r) if r < rank => {}
                Some(&r) => found.push(format!(
                    "{}:{line}: `{module}` (rank {rank}) names `crate::{named}` (rank {r}): \
                     a module may only name lower ranks",
                    relative.display()
                )),
                None => found.push(format!(
                    "{}:{line}: `crate::{named}` is not a ranked module (name the module, \
                     not a re-export of the crate root)",
                    relative.display()
                )),
            }
        }
    }
    found
}

#[test]
fn no_module_names_one_above_it_or_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&root, &mut paths);
    let files: Vec<_> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read source");
            (p.strip_prefix(&root).expect("below src").to_owned(), text)
        })
        .collect();
    assert!(files.len() > 20, "scanned {} files", files.len());
    let found = violations(&files);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn each_backend_crate_is_named_only_in_its_backend() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&root, &mut paths);
    for (krate, folder) in [
        ("rusqlite", "sqlite"),
        ("tokio_postgres", "postgres"),
        ("deadpool", "postgres"),
    ] {
        let backend = root.join("store").join(folder);
        let leaks: Vec<_> = paths
            .iter()
            .filter(|p| !p.starts_with(&backend) && !p.ends_with("layers.rs"))
            .filter(|p| {
                std::fs::read_to_string(p)
                    .expect("read source")
                    .contains(krate)
            })
            .collect();
        assert!(
            leaks.is_empty(),
            "{krate} outside store/{folder}/: {leaks:?}"
        );
    }
}

#[test]
fn the_architecture_document_names_every_module() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(doc).expect("docs/ARCHITECTURE.md");
    let chain = text
        .split("## The server's module chain")
        .nth(1)
        .expect("a section named \"The server's module chain\"");
    let chain = chain.split("\n## ").next().unwrap_or(chain);
    for (module, _) in RANKS.iter().filter(|(m, _)| *m != "layers") {
        assert!(
            chain.contains(&format!("`{module}")),
            "docs/ARCHITECTURE.md's chain does not name `{module}`"
        );
    }
}

#[test]
fn the_check_catches_upward_sideways_and_unranked_names() {
    let file = |path: &str, text: &str| (std::path::PathBuf::from(path), text.to_owned());
    let bad = [
        file("store/sqlite/mod.rs", "use crate::state::Shared;"),
        file("oidc/ciba.rs", "use crate::{api::ApiError, device};"),
        file("qr/mod.rs", "fn f() { crate::oidc::jwks(); }"),
        file(
            "login.rs",
            "use crate::{\n    api,\n    clients::authenticate,\n};",
        ),
        // Written so that this file itself names no root item.
        file("admin.rs", &format!("use {}::Shared;", "crate")),
        file("newthing.rs", "use crate::api;"),
    ];
    let found = violations(&bad);
    assert_eq!(found.len(), 6, "{found:#?}");
    assert!(found[0].contains("`store` (rank 2) names `crate::state`"));
    assert!(found[1].contains("names `crate::device`"), "sideways");
    assert!(found[2].contains("names `crate::oidc`"), "sideways");
    assert!(
        found[3].contains("names `crate::clients`"),
        "same rank, multi-line group"
    );
    assert!(found[4].contains("not a ranked module"));
    assert!(found[5].contains("has no rank"));
    let good = [
        file(
            "oidc/token.rs",
            "use crate::{api::{no_store, ApiError}, store::Poll};",
        ),
        file("router.rs", "use crate::{device, oidc, openapi, qr};"),
        file(
            "store/mod.rs",
            "pub(crate) use crate::store::x; // pub(crate) is no path",
        ),
        file("lib.rs", "use crate::router;"),
    ];
    assert_eq!(violations(&good), Vec::<String>::new());
}
