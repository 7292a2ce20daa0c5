//! The house rules, kept by tests (after rust-analyzer's `tidy.rs`): every Rust file opens with a
//! `//!` line saying what it is for; `app` and `worker` never depend on each other; no module
//! uses, directly or through others, a module that uses it back; xtask's layers never use its
//! tasks; xtask prints only through `console.rs`; and only `platform/src/videos/` changes the
//! `videos` and `job_outbox` tables.
//!
//! The module graph is read from the sources: a file's edges are the paths it names that start
//! with `crate::`, `super::`, `self::` or one of its own child modules, each resolved to the
//! deepest module file it reaches. Inline modules (`mod tests { … }`) count as part of their file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace members, from the root manifest's `members = [...]`.
fn members(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let start = manifest
        .find("members = [")
        .expect("the root manifest lists its members");
    let list = &manifest[start + "members = [".len()..];
    let list = &list[..list.find(']').unwrap()];
    list.split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .map(|member| root.join(member))
        .collect()
}

/// Every `.rs` file under `dir`, skipping build output and hidden folders.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The files cargo compiles as crate roots in a package: library, binaries, build script,
/// integration tests, benches, and any target whose `path` the manifest gives.
fn crate_roots(package: &Path) -> Vec<PathBuf> {
    let mut roots = BTreeSet::new();
    for candidate in ["src/lib.rs", "src/main.rs", "build.rs"] {
        roots.insert(package.join(candidate));
    }
    for dir in ["src/bin", "tests", "benches"] {
        for entry in std::fs::read_dir(package.join(dir)).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "rs") {
                roots.insert(path);
            } else if path.join("main.rs").is_file() {
                roots.insert(path.join("main.rs"));
            }
        }
    }
    let manifest = std::fs::read_to_string(package.join("Cargo.toml")).unwrap();
    for line in manifest.lines() {
        if let Some(path) = line.trim().strip_prefix("path = \"") {
            roots.insert(package.join(path.trim_end_matches('"')));
        }
    }
    roots.into_iter().filter(|root| root.is_file()).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// The tokens of a Rust source that matter for paths and modules, with their line numbers;
/// comments, strings and character literals are skipped.
fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        match c {
            '\n' => {
                line += 1;
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(chars[i] == '\n');
                        i += 1;
                    }
                }
                continue;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    line += usize::from(at(i) == '\n');
                    i += 1;
                }
                i += 1;
                tokens.push((Token::Other, start_line));
                continue;
            }
            '\'' => {
                // A character literal ('a', '\n', '\u{..}'), or a lifetime ('a).
                if at(i + 1) == '\\' {
                    i += 3;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3;
                } else {
                    i += 1;
                }
                tokens.push((Token::Other, start_line));
                continue;
            }
            _ => {}
        }
        // Raw and byte strings: r"…", r#"…"#, b"…", br#"…"#.
        let raw_start = match (c, at(i + 1), at(i + 2)) {
            ('r', '"' | '#', _) => Some(i + 1),
            ('b', 'r', '"' | '#') => Some(i + 2),
            ('b', '"', _) => {
                i += 1;
                continue; // the string itself is read on the next turn
            }
            _ => None,
        };
        if let Some(mut j) = raw_start {
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) == '"' {
                j += 1;
                let closing: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                while j < chars.len()
                    && !chars[j..].starts_with(&closing.chars().collect::<Vec<_>>())
                {
                    line += usize::from(chars[j] == '\n');
                    j += 1;
                }
                i = j + closing.len();
                tokens.push((Token::Other, start_line));
                continue;
            }
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Ident(chars[start..i].iter().collect()), line));
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Other, line));
            continue;
        }
        let token = match c {
            ':' if at(i + 1) == ':' => {
                i += 1;
                Token::PathSep
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            ';' => Token::Semi,
            _ => Token::Other,
        };
        i += 1;
        tokens.push((token, line));
    }
    tokens
}

/// Reads a path or use tree starting at `tokens[i]` (an identifier followed by `::`); returns the
/// full paths it names (a group `a::{b, c::d}` names `a::b` and `a::c::d`).
fn use_tree(tokens: &[(Token, usize)], i: &mut usize) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    loop {
        match tokens.get(*i).map(|(token, _)| token) {
            Some(Token::Ident(name)) => {
                prefix.push(name.clone());
                *i += 1;
                if tokens.get(*i).map(|(token, _)| token) != Some(&Token::PathSep) {
                    return vec![prefix];
                }
                *i += 1;
            }
            Some(Token::Open) => {
                *i += 1;
                let mut paths = Vec::new();
                loop {
                    match tokens.get(*i).map(|(token, _)| token) {
                        Some(Token::Close) | None => break,
                        Some(Token::Comma) => *i += 1,
                        Some(Token::Ident(_)) => {
                            for rest in use_tree(tokens, i) {
                                paths.push(prefix.iter().cloned().chain(rest).collect());
                            }
                        }
                        // `*` or `self` inside a group: the prefix itself.
                        Some(_) => {
                            paths.push(prefix.clone());
                            *i += 1;
                        }
                    }
                }
                *i += 1;
                return paths;
            }
            // `a::*`, or the end of the path.
            _ => return vec![prefix],
        }
    }
}

/// One crate's modules (by path from the crate root, `[]` being the root) and the edges between
/// them, each with the file and line that makes it.
#[derive(Debug, Default)]
struct ModuleGraph {
    files: BTreeMap<Vec<String>, PathBuf>,
    edges: BTreeMap<(Vec<String>, Vec<String>), (PathBuf, usize)>,
}

impl ModuleGraph {
    fn of_crate(root: &Path) -> Self {
        let mut graph = Self::default();
        let mut pending = vec![(Vec::new(), root.to_path_buf(), true)];
        let mut references = Vec::new();
        while let Some((module, file, owns_dir)) = pending.pop() {
            let source = std::fs::read_to_string(&file).unwrap();
            let tokens = tokens(&source);
            let dir = if owns_dir {
                file.parent().unwrap().to_path_buf()
            } else {
                file.with_extension("")
            };
            let mut children = BTreeSet::new();
            for window in tokens.windows(3) {
                if let [
                    (Token::Ident(kw), _),
                    (Token::Ident(name), _),
                    (Token::Semi, _),
                ] = window
                    && kw == "mod"
                {
                    children.insert(name.clone());
                    let mut child = module.clone();
                    child.push(name.clone());
                    let (flat, nested) = (
                        dir.join(format!("{name}.rs")),
                        dir.join(name).join("mod.rs"),
                    );
                    if flat.is_file() {
                        pending.push((child, flat, false));
                    } else if nested.is_file() {
                        pending.push((child, nested, true));
                    } else {
                        panic!("{}: `mod {name};` has no file", file.display());
                    }
                }
            }
            references.push((module.clone(), file.clone(), tokens, children));
            graph.files.insert(module, file);
        }
        for (module, file, tokens, children) in references {
            for (target, line) in paths_named(&module, &tokens, &children) {
                let Some(target) = graph.deepest_module(&target) else {
                    continue;
                };
                if target != module {
                    graph
                        .edges
                        .entry((module.clone(), target))
                        .or_insert_with(|| (file.clone(), line));
                }
            }
        }
        graph
    }

    /// The deepest module file that `path` goes through (the root, at least).
    fn deepest_module(&self, path: &[String]) -> Option<Vec<String>> {
        (0..=path.len())
            .rev()
            .map(|len| path[..len].to_vec())
            .find(|prefix| self.files.contains_key(prefix))
    }

    /// Every group of modules that reach each other (strongly connected, more than one module).
    fn cycles(&self) -> Vec<Vec<Vec<String>>> {
        let mut successors: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            successors.entry(from).or_default().push(to);
        }
        let reach = |from: &Vec<String>| {
            let mut seen = BTreeSet::new();
            let mut pending = vec![from];
            while let Some(module) = pending.pop() {
                for next in successors.get(module).into_iter().flatten() {
                    if seen.insert(*next) {
                        pending.push(next);
                    }
                }
            }
            seen
        };
        let reachable: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = self
            .files
            .keys()
            .map(|module| (module, reach(module)))
            .collect();
        let mut groups: BTreeSet<Vec<Vec<String>>> = BTreeSet::new();
        for (module, reaches) in &reachable {
            let group: Vec<Vec<String>> = reaches
                .iter()
                .filter(|other| reachable[**other].contains(module))
                .map(|other| (*other).clone())
                .collect();
            if group.len() > 1 {
                groups.insert(group);
            }
        }
        groups.into_iter().collect()
    }
}

/// The module paths `tokens` name, resolved from `module`: `crate::…`, `super::…`, `self::…` and
/// paths through a child module. Inside an inline module, `super` is the file's own module.
fn paths_named(
    module: &[String],
    tokens: &[(Token, usize)],
    children: &BTreeSet<String>,
) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let (token, line) = &tokens[i];
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Token::Ident(kw) if kw == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Open, _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Token::Ident(first)
                if tokens.get(i + 1).map(|(token, _)| token) == Some(&Token::PathSep)
                    && (i == 0 || tokens[i - 1].0 != Token::PathSep) =>
            {
                let base: Vec<String> = module
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(name, _)| name.clone()))
                    .collect();
                let anchored = matches!(first.as_str(), "crate" | "super" | "self")
                    || (inline.is_empty() && children.contains(first));
                if anchored {
                    for path in use_tree(tokens, &mut i) {
                        found.push((resolve(&base, &path), *line));
                    }
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// `path` as seen from module `base`, made absolute.
fn resolve(base: &[String], path: &[String]) -> Vec<String> {
    let mut resolved = base.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            resolved.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().map(String::as_str) == Some("super") {
        resolved.pop();
        rest = &rest[1..];
    }
    resolved.extend(rest.iter().cloned());
    resolved
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        format!("crate::{}", module.join("::"))
    }
}

/// The cycles of the crate rooted at `root`, described for a person: each module of a cycle and
/// where it names the next one.
fn describe_cycles(root: &Path) -> Vec<String> {
    let graph = ModuleGraph::of_crate(root);
    graph
        .cycles()
        .into_iter()
        .map(|group| {
            let members: BTreeSet<&Vec<String>> = group.iter().collect();
            let mut text = format!("{}: modules that use each other:", root.display());
            for ((from, to), (file, line)) in &graph.edges {
                if members.contains(from) && members.contains(to) {
                    text.push_str(&format!(
                        "\n    {} → {} ({}:{line})",
                        name(from),
                        name(to),
                        file.display()
                    ));
                }
            }
            text
        })
        .collect()
}

/// The macros that print to standard output or error.
const PRINT_MACROS: [&str; 5] = ["print", "println", "eprint", "eprintln", "dbg"];

/// Where the Rust files under `src` name a printing macro, as `file:line: name!`, except in
/// `src/console.rs` (comments and strings do not count).
fn prints_outside_console(src: &Path) -> Vec<String> {
    let console = src.join("console.rs");
    let mut found = Vec::new();
    for file in rust_files(src).into_iter().filter(|file| *file != console) {
        let tokens = tokens(&std::fs::read_to_string(&file).unwrap());
        for pair in tokens.windows(2) {
            if let [(Token::Ident(name), line), (Token::Other, _)] = pair
                && PRINT_MACROS.contains(&name.as_str())
            {
                found.push(format!("{}:{line}: {name}!", file.display()));
            }
        }
    }
    found
}

/// The tables whose every change is `platform::videos`'s.
const VIDEO_TABLES: [&str; 2] = ["videos", "job_outbox"];
/// Where those changes live.
const VIDEO_OWNER: &str = "platform/src/videos/";

/// The lines of `source` (numbered from 1) with a statement that changes a table of
/// [`VIDEO_TABLES`]: `INSERT INTO t`, `UPDATE t` or `DELETE FROM t`, in any case and spacing, also
/// across lines. Comment lines are skipped.
fn video_table_changes(source: &str) -> Vec<usize> {
    let mut words: Vec<(String, usize)> = Vec::new();
    for (number, line) in source.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for word in line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| !word.is_empty())
        {
            words.push((word.to_ascii_lowercase(), number + 1));
        }
    }
    let is_table = |i: usize| {
        words
            .get(i)
            .is_some_and(|(word, _)| VIDEO_TABLES.contains(&word.as_str()))
    };
    let word = |i: usize| words.get(i).map(|(word, _)| word.as_str());
    let mut found = Vec::new();
    for (i, (first, line)) in words.iter().enumerate() {
        let changes = match first.as_str() {
            "insert" => word(i + 1) == Some("into") && is_table(i + 2),
            "delete" => word(i + 1) == Some("from") && is_table(i + 2),
            "update" => is_table(i + 1),
            _ => false,
        };
        if changes && found.last() != Some(line) {
            found.push(*line);
        }
    }
    found
}

#[test]
fn only_platform_videos_changes_the_videos_and_job_outbox_tables() {
    let root = crate::cmd::workspace_root();
    let mut outside = Vec::new();
    for member in members(&root) {
        for file in rust_files(&member) {
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // Integration tests (a package's `tests/`, and the end-to-end package) forge states
            // no code path makes: a lease that ran out a minute ago, a video processed without a
            // worker. Everything compiled into a program goes through `platform::videos`.
            let test_code = member == root.join("tests")
                || file.strip_prefix(&member).unwrap().starts_with("tests");
            if relative.starts_with(VIDEO_OWNER) || test_code {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for line in video_table_changes(&text) {
                outside.push(format!("{relative}:{line}"));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "statements that change videos or job_outbox belong in {VIDEO_OWNER} (call platform::videos \
         instead):\n{}",
        outside.join("\n")
    );
}

#[test]
fn the_video_table_rule_catches_changes_in_any_spelling_and_nothing_else() {
    // Spelled in pieces so that this file does not break its own rule.
    let (ins, upd, del) = ("INSERT INTO", "update", "Delete\n         FROM");
    let source = format!(
        "//! A route.\n\
         fn f() {{\n\
         sqlx::query(\"{ins} videos (id) VALUES ($1)\");\n\
         sqlx::query(\"{upd}  videos v SET votes = 1\");\n\
         sqlx::query(\"{del} job_outbox WHERE id = $1\");\n\
         sqlx::query(\"SELECT * FROM videos; {upd} videos_archive SET x = 1\");\n\
         // {upd} videos in a comment is prose\n\
         sqlx::query(\"{upd} users SET city = 'Cali'\");\n\
         }}\n"
    );
    assert_eq!(video_table_changes(&source), vec![3, 4, 5]);
}

#[test]
fn every_rust_file_starts_with_a_line_saying_what_it_is_for() {
    let root = crate::cmd::workspace_root();
    let mut missing = Vec::new();
    for member in members(&root) {
        for file in rust_files(&member) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                missing.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` line:\n{}",
        missing.join("\n")
    );
}

#[test]
fn app_and_worker_never_depend_on_each_other() {
    let root = crate::cmd::workspace_root();
    for (package, other) in [("app", "worker"), ("worker", "app")] {
        let manifest = std::fs::read_to_string(root.join(package).join("Cargo.toml")).unwrap();
        let mut section = "";
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
                continue;
            }
            let dependency = line.split(['=', '.', ' ']).next().unwrap_or_default();
            assert!(
                !(section.contains("dependencies") && dependency == other),
                "{package} depends on {other} ({section}); they meet only in the shared crate"
            );
        }
    }
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let root = crate::cmd::workspace_root();
    let mut cycles = Vec::new();
    let mut crates = 0;
    for member in members(&root) {
        for crate_root in crate_roots(&member) {
            crates += 1;
            cycles.extend(describe_cycles(&crate_root));
        }
    }
    assert!(crates >= 10, "only {crates} crate roots found");
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn xtask_layers_never_use_its_tasks() {
    let graph = ModuleGraph::of_crate(&crate::cmd::workspace_root().join("xtask/src/main.rs"));
    let is_task = |module: &[String]| module.first().is_some_and(|first| first == "tasks");
    let upward: Vec<String> = graph
        .edges
        .iter()
        .filter(|((from, to), _)| !from.is_empty() && !is_task(from) && is_task(to))
        .map(|((from, to), (file, line))| {
            format!("{} → {} ({}:{line})", name(from), name(to), file.display())
        })
        .collect();
    assert!(graph.files.len() > 30, "the xtask module tree was not read");
    assert!(
        upward.is_empty(),
        "the layers (deploy, env, loadtest, console, cmd) must not use the tasks:\n{}",
        upward.join("\n")
    );
}

#[test]
fn xtask_prints_only_through_its_console() {
    let src = crate::cmd::workspace_root().join("xtask/src");
    assert!(
        rust_files(&src).len() > 30,
        "the xtask sources were not read"
    );
    let found = prints_outside_console(&src);
    assert!(
        found.is_empty(),
        "xtask prints through crate::console (step, note, block, error, …), not with these:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_console_check_catches_a_print_outside_console_rs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
    std::fs::write(
        dir.path().join("console.rs"),
        "//! Console.\npub fn note(m: &str) { println!(\"    {m}\"); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tasks/bench.rs"),
        "//! Bench.\n// println!(\"a comment\")\nconst S: &str = \"eprintln!(\\\"a string\\\")\";\n\
         fn run() {\n    crate::console::note(\"ok\");\n    eprintln!(\"caught\");\n    \
         std::print!(\"caught too\");\n}\n",
    )
    .unwrap();
    let bench = dir.path().join("tasks/bench.rs").display().to_string();
    assert_eq!(
        prints_outside_console(dir.path()),
        [
            format!("{bench}:6: eprintln!"),
            format!("{bench}:7: print!")
        ]
    );
}

#[test]
fn the_cycle_check_sees_cycles_through_parents_groups_and_children() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "main.rs",
        "//! Root.\nmod a;\nmod b;\nmod c;\nfn main() { a::run(); }\n",
    );
    // `a` is a folder module whose child names its parent; `b` and `c` use each other through a
    // group and a plain path; strings, comments and test modules name nothing.
    write(
        "a/mod.rs",
        "//! A.\nmod child;\npub struct Shared;\npub fn run() { child::go() }\n",
    );
    write(
        "a/child.rs",
        "//! Child.\nuse super::Shared;\npub fn go() {}\n#[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write(
        "b.rs",
        "//! B.\nuse crate::{c::{self, C}, a};\n// crate::a::child\nconst S: &str = \"crate::a::child\";\n",
    );
    write("c.rs", "//! C.\npub struct C;\nfn f() { crate::b::g(); }\n");
    let described = describe_cycles(&dir.path().join("main.rs"));
    assert_eq!(described.len(), 2, "{described:#?}");
    assert!(
        described[0].contains("crate::a → crate::a::child"),
        "{}",
        described[0]
    );
    assert!(
        described[0].contains("crate::a::child → crate::a ("),
        "{}",
        described[0]
    );
    assert!(
        described[1].contains("crate::b → crate::c"),
        "{}",
        described[1]
    );
    assert!(
        described[1].contains("crate::c → crate::b"),
        "{}",
        described[1]
    );
    let graph = ModuleGraph::of_crate(&dir.path().join("main.rs"));
    assert!(
        !graph
            .edges
            .keys()
            .any(|(from, to)| from == &vec!["b".to_owned()]
                && to == &vec!["a".to_owned(), "child".to_owned()]),
        "a comment or a string made an edge: {:?}",
        graph.edges.keys()
    );
}
