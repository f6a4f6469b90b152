//! The modules of `crates/server/src` depend on each other without cycles, so each can be
//! read (and tested) with only the ones below it in mind, and leaf modules such as the
//! request-ID context depend on nothing above them.
//!
//! The graph is built from the source: a module depends on another when its code (tests
//! excluded) names it in a `crate::…` or `super::…` path, in a `use` or inline. A module's
//! `mod` declarations of its children are ownership, not use, and are not edges; naming a
//! child's items is. The checker is deliberately simple (it reads paths, it does not resolve
//! names), so it can miss an edge hidden behind a re-export, never invent one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `crate::a::b` of a file under `src/`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    std::iter::once("crate".to_owned())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, string contents and its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    // Drop string literals: paths inside them are text, not code.
    let mut cleaned = String::new();
    let mut in_string = false;
    let mut previous = ' ';
    for c in out.chars() {
        if c == '"' && previous != '\\' {
            in_string = !in_string;
        } else if !in_string {
            cleaned.push(c);
        }
        previous = c;
    }
    cleaned
}

/// A file's inline modules (`mod otel { … }`) belong to the file's module here: their
/// `super::` is the file itself, so it is rewritten to `self::`.
fn inline_modules_as_self(text: &str) -> String {
    let mut out = text.to_owned();
    let mut from = 0;
    while let Some(at) = out[from..].find("mod ").map(|i| i + from) {
        let head = &out[at..];
        let name_end = head[4..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(|i| i + 4);
        let opens = name_end.is_some_and(|e| head[e..].trim_start().starts_with('{'));
        let word_start = at == 0 || !out[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if !(opens && word_start) {
            from = at + 4;
            continue;
        }
        let open = at + out[at..].find('{').unwrap();
        let mut depth = 0;
        let mut close = out.len();
        for (i, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = out[open..close].replace("super::", "self::");
        out.replace_range(open..close, &inner);
        from = open + 1;
    }
    out
}

/// Every path the code names, with `use` groups expanded (`crate::a::{b, c::d}` gives
/// `crate::a::b` and `crate::a::c::d`).
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let starts = (rest.starts_with("crate::")
            || rest.starts_with("super::")
            || rest.starts_with("self::"))
            && (i == 0
                || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let (expanded, end) = expand(&bytes, i);
        found.extend(expanded);
        i = end;
    }
    found
}

/// Reads the path at `start` (with a trailing `{…}` group) and returns its expansions and the
/// index after it.
fn expand(chars: &[char], start: usize) -> (Vec<String>, usize) {
    let mut prefix = String::new();
    let mut i = start;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
        prefix.push(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == '{' && prefix.ends_with("::") {
        // Split the group at top-level commas.
        let mut depth = 0;
        let mut item = String::new();
        let mut items = Vec::new();
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '{' => {
                    depth += 1;
                    item.push('{');
                }
                '}' if depth == 0 => {
                    i += 1;
                    break;
                }
                '}' => {
                    depth -= 1;
                    item.push('}');
                }
                ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                c => item.push(c),
            }
            i += 1;
        }
        items.push(item);
        let mut out = Vec::new();
        for item in items {
            let item: String = item.split_whitespace().collect::<Vec<_>>().join(" ");
            let item = item.split(" as ").next().unwrap_or("").trim().to_owned();
            if item.is_empty() {
                continue;
            }
            let joined: Vec<char> = format!("{prefix}{item}").chars().collect();
            out.extend(expand(&joined, 0).0);
        }
        return (out, i);
    }
    (vec![prefix.trim_end_matches(':').to_owned()], i)
}

/// The module a path names: `super::` resolved against `from`, then the longest known module
/// that prefixes it.
fn target(path: &str, from: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<&str> = from.split("::").collect();
    let mut rest = path;
    if let Some(r) = rest.strip_prefix("self::") {
        rest = r;
    } else if rest.starts_with("super::") {
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
    } else {
        base = vec!["crate"];
        rest = rest.strip_prefix("crate::").unwrap_or("");
    }
    let mut full: Vec<&str> = base;
    full.extend(rest.split("::").filter(|s| !s.is_empty() && *s != "self"));
    (1..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = inline_modules_as_self(&std::fs::read_to_string(file).unwrap());
        let deps = edges.entry(from.clone()).or_default();
        let code = code(&text);
        for path in paths(&code) {
            if let Some(to) = target(&path, &from, &modules)
                && to != from
            {
                deps.insert(to);
            }
        }
        // A path may also start at a child module (`jobs::router()` in `routes`).
        for child in children(&from, &modules) {
            let name = child.rsplit("::").next().unwrap();
            if names_module(&code, name) {
                deps.insert(child);
            }
        }
    }
    edges
}

/// The modules directly under `parent`.
fn children(parent: &str, modules: &BTreeSet<String>) -> Vec<String> {
    modules
        .iter()
        .filter(|m| {
            m.strip_prefix(parent)
                .and_then(|rest| rest.strip_prefix("::"))
                .is_some_and(|rest| !rest.contains("::"))
        })
        .cloned()
        .collect()
}

/// Whether `code` uses `name::…` as a path of its own (not after `crate::`, `super::` or
/// another path segment, which [`paths`] already covers).
fn names_module(code: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// A cycle through the graph, if any (depth-first search with colours).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_module_graph_of_the_server_has_no_cycle() {
    let edges = graph();
    assert!(edges.len() > 20, "the source was not read: {edges:?}");
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "modules depend on each other in a cycle: {}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn leaf_modules_depend_on_nothing_of_the_crate() {
    let edges = graph();
    for leaf in ["crate::middleware::request_id", "crate::extract"] {
        let deps = &edges[leaf];
        let allowed: BTreeSet<String> = ["crate::error".to_owned()].into();
        let upward: Vec<_> = deps
            .iter()
            .filter(|d| !(leaf == "crate::extract" && allowed.contains(*d)))
            .collect();
        assert!(upward.is_empty(), "{leaf} depends on {upward:?}");
    }
}

/// The checker itself: it must see edges and cycles where they are.
#[test]
fn the_checker_finds_edges_and_cycles() {
    let modules: BTreeSet<String> = ["crate", "crate::a", "crate::a::b", "crate::c"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let sample = code(
        "use crate::a::{b::Thing, self};\nfn f() { super::super::c::go(); let s = \"crate::c::x\"; }\n\
         // crate::c in a comment\n#[cfg(test)]\nmod tests { use crate::c; }",
    );
    let found: BTreeSet<_> = paths(&sample)
        .iter()
        .filter_map(|p| target(p, "crate::a::b", &modules))
        .collect();
    let expected: BTreeSet<String> = ["crate::a::b", "crate::a", "crate::c"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(found, expected);
    assert!(names_module("fn f() { jobs::router() }", "jobs"));
    assert!(!names_module(
        "use crate::jobs::x; fn f() { myjobs::y() }",
        "jobs"
    ));
    let inline = inline_modules_as_self("mod otel {\n use super::x;\n}\nuse super::y;");
    assert_eq!(inline, "mod otel {\n use self::x;\n}\nuse super::y;");
    // Only the comment, the string and the test module name `crate::c` from here.
    let quiet = code("fn f() { let s = \"crate::c\"; }\n// crate::c\n#[cfg(test)]\nuse crate::c;");
    assert!(paths(&quiet).is_empty(), "{:?}", paths(&quiet));
    let mut edges = BTreeMap::new();
    edges.insert("x".to_owned(), BTreeSet::from(["y".to_owned()]));
    edges.insert("y".to_owned(), BTreeSet::from(["z".to_owned()]));
    assert_eq!(find_cycle(&edges), None);
    edges.insert("z".to_owned(), BTreeSet::from(["x".to_owned()]));
    assert_eq!(
        find_cycle(&edges).unwrap(),
        ["x", "y", "z", "x"].map(str::to_owned)
    );
}
