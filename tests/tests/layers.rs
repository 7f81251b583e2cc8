//! The layers hold: the domain and the use cases pull in no runtime, AWS, HTTP or Lambda
//! crate (docs/architecture.md), and no module of a shared crate imports, through others,
//! itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every crate `package` depends on at run time (not its tests' or build's).
fn dependency_tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(repo())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_no_infrastructure(package: &str) {
    let tree = dependency_tree(package);
    assert!(tree.contains(package), "cargo tree listed {tree:?}");
    let forbidden: Vec<&String> = tree
        .iter()
        .filter(|name| {
            ["tokio", "aws-", "aws_", "reqwest", "hyper", "lambda_"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .collect();
    assert!(forbidden.is_empty(), "{package} depends on {forbidden:?}");
}

#[test]
fn the_domain_and_the_use_cases_need_no_runtime_aws_http_or_lambda_crate() {
    assert_no_infrastructure("edubot-domain");
    assert_no_infrastructure("edubot-app");
}

/// Top-level module → the top-level modules of the same crate its code names
/// (`crate::x`), tests left out.
fn module_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(src, &mut all);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in all {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let names = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name != module && name.chars().next().is_some_and(|c| c.is_lowercase()) {
                names.insert(name);
            }
        }
    }
    graph
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_of_a_shared_crate_imports_itself_through_others() {
    for crate_dir in ["shared/domain", "shared/app", "shared/adapters"] {
        let graph = module_imports(&repo().join(crate_dir).join("src"));
        assert!(
            graph.len() >= 5,
            "{crate_dir}: modules not found: {graph:?}"
        );
        assert_eq!(cycle(&graph), None, "{crate_dir}: an import cycle");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("model", vec!["bot", "time"]),
        ("bot", vec!["model"]),
        ("time", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["bot".into(), "model".into(), "bot".into()])
    );
}
