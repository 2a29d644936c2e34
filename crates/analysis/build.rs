//! Embeds the shipped Sigma rules (`rules/**/*.yml|yaml` at the workspace root) in the crate:
//! `$OUT_DIR/shipped_rules.rs` is a list of (path under `rules/`, text) in path order.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yml") | Some("yaml")
        ) {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).expect("under rules/");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let abs = f.canonicalize().expect("rule file exists");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("rules/{rel}"),
            abs.display().to_string()
        ));
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("shipped_rules.rs");
    std::fs::write(out, code).expect("write shipped_rules.rs");
}
