//! Dependency direction is part of the architecture: core ← detect/policy/audit/store ←
//! engine ← server, cli. This test reads `cargo metadata` and fails on any edge between
//! workspace crates that the allow-list does not name.

use std::{collections::BTreeMap, process::Command};

const ALLOWED: &[(&str, &[&str])] = &[
    ("custodia-core", &[]),
    ("custodia-detect", &["custodia-core"]),
    ("custodia-policy", &["custodia-core"]),
    ("custodia-audit", &["custodia-core"]),
    ("custodia-store", &["custodia-core"]),
    (
        "custodia-engine",
        &[
            "custodia-core",
            "custodia-detect",
            "custodia-policy",
            "custodia-audit",
            "custodia-store",
        ],
    ),
    (
        "custodia-server",
        &["custodia-core", "custodia-detect", "custodia-engine"],
    ),
    (
        "custodia-cli",
        &["custodia-core", "custodia-detect", "custodia-engine"],
    ),
    (
        "custodia-bench",
        &[
            "custodia-core",
            "custodia-detect",
            "custodia-audit",
            "custodia-store",
            "custodia-engine",
            "custodia-policy",
        ],
    ),
    ("custodia-testkit", &[]),
    ("xtask", &[]),
];

#[test]
fn workspace_dependencies_point_downwards() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut bad = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let Some(ok) = allowed.get(name) else {
            bad.push(format!("{name} is not in the allow-list; add it to ALLOWED in this test and to ARCHITECTURE.md"));
            continue;
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let dev = d["kind"].as_str() == Some("dev");
            if members.iter().any(|m| m == dep) && !dev && !ok.contains(&dep) {
                bad.push(format!("{name} → {dep} is not allowed"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "dependency direction violated:\n{}",
        bad.join("\n")
    );
}
