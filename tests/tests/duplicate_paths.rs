//! No path by which a message could reach a user twice exists beyond those
//! docs/reliability.md lists: only the send pipeline (entered by `deliver` and
//! `deliver_any`) calls the Graph API's send, only the use cases of the page's "Who sends"
//! table call those, and every remaining duplicate path the
//! page names cites tests that exist. A new sender, or a path left without a test, fails
//! here until the page says why it cannot send twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The shipped code of the shared crates and the functions: each file up to its test
/// module, comments dropped, with its path relative to the repository.
fn production_sources() -> Vec<(String, Vec<String>)> {
    let root = repo();
    let mut files = Vec::new();
    for parent in ["shared", "functions"] {
        for krate in std::fs::read_dir(root.join(parent)).unwrap().flatten() {
            let src = krate.path().join("src");
            if src.is_dir() {
                rust_files(&src, &mut files);
            }
        }
    }
    files
        .into_iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            name != "tests.rs" && !name.ends_with("_tests.rs")
        })
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = text
                .lines()
                .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
                .map(|l| l.split(" //").next().unwrap().to_owned())
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            let relative = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, lines)
        })
        .collect()
}

/// The name of the function a line lies in: the nearest `fn name` above it.
fn enclosing_fn(lines: &[String], index: usize) -> String {
    lines[..=index]
        .iter()
        .rev()
        .find_map(|l| {
            let after = l.split("fn ").nth(1)?;
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .unwrap_or_else(|| "<top level>".into())
}

/// Every `(file, function)` whose code calls one of `calls`, except their definitions.
/// Whitespace is ignored but between two words, so a call split over lines
/// (`ctx\n.messenger()\n.send(`) counts.
fn callers(sources: &[(String, Vec<String>)], calls: &[&str]) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (file, lines) in sources {
        // The file without whitespace, and the line each of its characters came from.
        let mut compact = String::new();
        let mut line_of = Vec::new();
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let mut pending_space = false;
        for (i, line) in lines.iter().enumerate() {
            for c in line.chars().chain(std::iter::once('\n')) {
                if c.is_whitespace() {
                    pending_space = true;
                    continue;
                }
                if pending_space && word(c) && compact.ends_with(word) {
                    compact.push(' ');
                    line_of.push(i);
                }
                pending_space = false;
                compact.push(c);
                line_of.push(i);
            }
        }
        for call in calls {
            let call: String = call.chars().filter(|c| !c.is_whitespace()).collect();
            for (at, _) in compact.match_indices(call.as_str()) {
                let before = &compact[..at];
                let word_starts = !before.ends_with(word);
                if word_starts && !before.trim_end().ends_with("fn") {
                    let index = compact[..at].chars().count();
                    found.insert((file.clone(), enclosing_fn(lines, line_of[index])));
                }
            }
        }
    }
    found
}

fn reliability_page() -> String {
    std::fs::read_to_string(repo().join("docs/reliability.md")).unwrap()
}

/// The text of the page's section under `heading`, up to the next heading.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("docs/reliability.md has no {heading:?}"));
    let rest = &page[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The names in backticks in `text`.
fn code_spans(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_the_send_pipeline_calls_the_graph_apis_send() {
    let sources = production_sources();
    let delivery = |function: &str| ("shared/app/src/delivery.rs".to_owned(), function.to_owned());
    let senders = callers(&sources, &["messenger().send(", "Messenger::send("]);
    assert_eq!(
        senders,
        BTreeSet::from([delivery("send_and_record")]),
        "the Graph API's send is called from outside the send pipeline"
    );
    let entries = callers(&sources, &["send_and_record("]);
    assert_eq!(
        entries,
        BTreeSet::from([delivery("deliver"), delivery("deliver_any")]),
        "the send pipeline is entered other than by deliver and deliver_any"
    );
}

#[test]
fn every_caller_of_deliver_is_a_sender_the_reliability_page_accounts_for() {
    let sources = production_sources();
    let in_code: BTreeSet<String> =
        callers(&sources, &["deliver(", "deliver_any(", "deliver_in_order("])
            .into_iter()
            .filter(|(file, _)| file != "shared/app/src/delivery.rs")
            .map(|(_, function)| function)
            .collect();
    let page = reliability_page();
    let table = section(&page, "## Who sends");
    let documented: BTreeSet<String> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| code_spans(l).into_iter().next())
        .collect();
    assert!(
        !documented.is_empty(),
        "the Who sends table lists no sender"
    );
    let undocumented: Vec<_> = in_code.difference(&documented).collect();
    let gone: Vec<_> = documented.difference(&in_code).collect();
    assert!(
        undocumented.is_empty() && gone.is_empty(),
        "senders in the code but not in docs/reliability.md: {undocumented:?}; \
         listed there but no longer in the code: {gone:?}"
    );
}

/// Every test function's name in the repository's tests and test modules.
fn test_names() -> BTreeSet<String> {
    let root = repo();
    let mut files = Vec::new();
    for dir in ["shared", "functions", "tests/tests", "infra/local"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_test = lines[..i]
                .iter()
                .rev()
                .take(2)
                .any(|l| l.contains("#[test]") || l.contains("#[tokio::test"));
            let signature = line.trim_start();
            let after = signature
                .strip_prefix("async fn ")
                .or_else(|| signature.strip_prefix("fn "));
            if let (Some(after), true) = (after, is_test) {
                names.insert(after.split('(').next().unwrap().to_owned());
            }
        }
    }
    names
}

/// The items of the first numbered list in `text`, each with its continuation lines.
fn numbered_items(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        let starts_item = line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if starts_item {
            in_list = true;
            items.push(line.to_owned());
        } else if in_list && line.starts_with("   ") {
            let item = items.last_mut().unwrap();
            item.push(' ');
            item.push_str(line.trim());
        } else if in_list && line.trim().is_empty() && !items.is_empty() {
            continue;
        } else if in_list {
            break;
        }
    }
    items
}

#[test]
fn every_remaining_duplicate_path_names_tests_that_exist() {
    let page = reliability_page();
    let paths = section(&page, "## Where a duplicate could still reach a user");
    let items = numbered_items(paths);
    assert!(
        items.len() >= 4,
        "expected the numbered paths, found {items:?}"
    );
    let tests = test_names();
    for item in items {
        let cited = item
            .split("(Tested")
            .nth(1)
            .unwrap_or_else(|| panic!("a duplicate path cites no test: {item}"));
        let names = code_spans(cited);
        assert!(!names.is_empty(), "a duplicate path cites no test: {item}");
        for name in names {
            assert!(
                tests.contains(&name),
                "no test named {name} (cited for: {item})"
            );
        }
    }
}
