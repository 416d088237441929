//! action.yml and .pre-commit-hooks.yaml: their required keys, and that the
//! archlint commands, flags, values and rules they run exist.

use std::path::Path;
use std::process::Command;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Top-level keys (no indentation) of a YAML mapping.
fn top_keys(yaml: &str) -> Vec<&str> {
    yaml.lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect()
}

/// Keys indented by exactly `indent` spaces inside the top-level block `block`.
fn keys_under<'a>(yaml: &'a str, block: &str, indent: usize) -> Vec<&'a str> {
    let mut inside = false;
    let mut out = Vec::new();
    for l in yaml.lines() {
        if !l.starts_with(' ') && !l.trim().is_empty() {
            inside = l.starts_with(&format!("{block}:"));
            continue;
        }
        let lead = l.len() - l.trim_start().len();
        if inside && lead == indent && !l.trim_start().starts_with(['#', '-']) {
            if let Some((k, _)) = l.trim().split_once(':') {
                out.push(k);
            }
        }
    }
    out
}

/// A flag and the value after it.
type Flag = (String, Option<String>);

/// Every `archlint SUBCOMMAND --flag value` the file runs: (subcommand, flags with values).
fn invocations(text: &str) -> Vec<(String, Vec<Flag>)> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let t = l.trim_start().trim_start_matches("- ");
        if ["name:", "description:", "#"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            continue; // prose
        }
        let Some(i) = l.find("archlint ") else {
            continue;
        };
        let mut cmd = l[i + "archlint ".len()..].to_string();
        while cmd.trim_end().ends_with('\\') {
            cmd = cmd.trim_end().trim_end_matches('\\').to_string();
            cmd.push(' ');
            cmd.push_str(lines.next().unwrap_or(""));
        }
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let Some(sub) = words.first() else { continue };
        if !sub.chars().all(|c| c.is_ascii_lowercase() || c == '-') || sub.starts_with('-') {
            // "archlint (SARIF)", "--version" and prose are not subcommands.
            if *sub == "--version" {
                out.push(("--version".to_string(), Vec::new()));
            }
            continue;
        }
        let mut flags = Vec::new();
        for (j, w) in words.iter().enumerate() {
            if let Some(f) = w.strip_prefix("--") {
                let f = f.split(['=', '"', '}']).next().unwrap_or(f);
                let value = words
                    .get(j + 1)
                    .filter(|v| !v.starts_with('-') && !v.starts_with(['"', '$']))
                    .map(|v| v.to_string());
                flags.push((format!("--{f}"), value));
            }
        }
        out.push((sub.to_string(), flags));
    }
    out
}

fn check_invocations(file: &str, min: usize) {
    let text = read(file);
    let runs = invocations(&text);
    assert!(runs.len() >= min, "{file}: {runs:?}");
    let rules = {
        let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
            .env("ARCHLINT_NO_CACHE", "1")
            .args(["rules", "--format", "json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let top = help(&[]);
    for (sub, flags) in runs {
        if sub == "--version" {
            continue;
        }
        assert!(
            top.lines()
                .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "{file}: archlint {sub} is no subcommand"
        );
        let h = help(&[&sub]);
        for (flag, value) in flags {
            assert!(
                h.contains(&format!("{flag} ")) || h.contains(&format!("{flag}\n")),
                "{file}: archlint {sub} has no {flag}"
            );
            let Some(v) = value else { continue };
            match flag.as_str() {
                "--format" | "--fail-on" => assert!(
                    h.contains(&format!("- {v}"))
                        || h.contains(&format!(" {v},"))
                        || h.contains(&format!("{v}]")),
                    "{file}: {flag} {v} is not a possible value"
                ),
                "--select" | "--ignore" => {
                    for r in v.split(',') {
                        assert!(rules.iter().any(|x| x == r), "{file}: no rule {r}");
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn action_yml_has_its_keys_and_runs_existing_commands() {
    let a = read("action.yml");
    let top = top_keys(&a);
    for k in ["name", "description", "inputs", "runs"] {
        assert!(top.contains(&k), "action.yml: no {k}");
    }
    let inputs = keys_under(&a, "inputs", 2);
    for k in ["paths", "args", "fail-on", "sarif", "baseline"] {
        assert!(inputs.contains(&k), "action.yml: no input {k}: {inputs:?}");
    }
    for k in keys_under(&a, "inputs", 4) {
        assert!(["description", "required", "default"].contains(&k), "{k}");
    }
    assert!(a.contains("  using: composite"));
    assert!(a.contains("uses: github/codeql-action/upload-sarif@"));
    assert!(a.contains("cargo install --locked --git"));
    assert!(a.contains("--format github"));
    assert!(a.contains("--format sarif"));
    // Every step of a composite action names its shell.
    let runs = a.matches("      run: |").count();
    assert_eq!(a.matches("      shell: bash").count(), runs);
    // Every input the steps read is declared.
    for (i, _) in a.match_indices("inputs.") {
        let name: String = a[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(inputs.contains(&name.as_str()), "undeclared input {name}");
    }
    check_invocations("action.yml", 2);
}

#[test]
fn pre_commit_hooks_have_their_keys_and_run_existing_commands() {
    let h = read(".pre-commit-hooks.yaml");
    let mut hooks: Vec<Vec<(&str, &str)>> = Vec::new();
    for l in h.lines() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        if let Some(rest) = l.strip_prefix("- ") {
            hooks.push(Vec::new());
            let (k, v) = rest.split_once(':').unwrap();
            hooks.last_mut().unwrap().push((k.trim(), v.trim()));
        } else if let Some(rest) = l.strip_prefix("  ") {
            let (k, v) = rest.split_once(':').unwrap();
            hooks.last_mut().unwrap().push((k.trim(), v.trim()));
        }
    }
    let ids: Vec<&str> = hooks
        .iter()
        .map(|h| h.iter().find(|(k, _)| *k == "id").unwrap().1)
        .collect();
    assert_eq!(ids, ["archlint", "archlint-secrets"]);
    for hook in &hooks {
        for k in ["id", "name", "entry", "language"] {
            assert!(hook.iter().any(|(x, _)| *x == k), "{hook:?}: no {k}");
        }
        let entry = hook.iter().find(|(k, _)| *k == "entry").unwrap().1;
        assert!(entry.starts_with("archlint check "), "{entry}");
    }
    let secrets = &hooks[1];
    let entry = secrets.iter().find(|(k, _)| *k == "entry").unwrap().1;
    assert!(entry.contains("--select hardcoded-secret"));
    check_invocations(".pre-commit-hooks.yaml", 2);
}

#[test]
fn version_names_the_rules_data_version_and_rules_lists_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8(out.stdout).unwrap();
    let (head, rules) = v.trim().split_once(" (rules ").expect("rules version");
    assert_eq!(head, format!("archlint {}", env!("CARGO_PKG_VERSION")));
    let hash = rules.strip_suffix(')').unwrap();
    assert_eq!(hash.len(), 12);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));

    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["rules_version"], hash);
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    let text = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .arg("rules")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let json_ids: Vec<&str> = j["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, json_ids);
    for r in j["rules"].as_array().unwrap() {
        assert!(["error", "warning", "info"].contains(&r["default_severity"].as_str().unwrap()));
        assert!(!r["summary"].as_str().unwrap().is_empty());
    }
}
