//! Dependencies declared in manifests (Cargo.toml, package.json,
//! requirements.txt, pyproject.toml, go.mod): the evidence for the report's
//! architecture decisions.

#[derive(Clone, Debug)]
pub struct Dep {
    pub name: String,
    /// The manifest line that declares it, for the decision's rationale.
    pub line_text: String,
    pub file: String,
    pub line: u32,
}

pub fn deps(rel: &str, text: &str) -> Vec<Dep> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let mut out = Vec::new();
    let mut push = |n: &str, i: usize, l: &str| {
        out.push(Dep {
            name: n.to_ascii_lowercase(),
            line_text: l.trim().chars().take(120).collect(),
            file: rel.to_string(),
            line: i as u32 + 1,
        })
    };
    match name {
        "Cargo.toml" => {
            let mut in_deps = false;
            for (i, l) in text.lines().enumerate() {
                let t = l.trim();
                if t.starts_with('[') {
                    in_deps = t.contains("dependencies");
                    if let Some(rest) = t
                        .strip_prefix("[dependencies.")
                        .or_else(|| t.strip_prefix("[workspace.dependencies."))
                    {
                        push(rest.trim_end_matches(']'), i, l);
                    }
                    continue;
                }
                if in_deps {
                    if let Some((k, _)) = t.split_once('=') {
                        let k = k.trim().trim_matches('"');
                        if !k.is_empty() && !k.starts_with('#') {
                            push(k, i, l);
                        }
                    }
                }
            }
        }
        "package.json" => {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                for sec in ["dependencies", "devDependencies"] {
                    if let Some(o) = v.get(sec).and_then(|d| d.as_object()) {
                        for k in o.keys() {
                            let (i, l) = text
                                .lines()
                                .enumerate()
                                .find(|(_, l)| l.contains(&format!("\"{k}\"")))
                                .unwrap_or((0, ""));
                            push(k, i, l);
                        }
                    }
                }
            }
        }
        "requirements.txt" | "pyproject.toml" | "Pipfile" | "setup.py" | "setup.cfg" => {
            for (i, l) in text.lines().enumerate() {
                let t = l.trim().trim_start_matches('"');
                let n: String = t
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.'
                    })
                    .collect();
                if !n.is_empty()
                    && (name == "requirements.txt"
                        || l.contains('"')
                        || l.contains("==")
                        || l.contains(">="))
                {
                    push(&n, i, l);
                }
            }
        }
        "go.mod" => {
            for (i, l) in text.lines().enumerate() {
                let t = l.trim().trim_start_matches("require").trim();
                if let Some(path) = t.split_whitespace().next() {
                    if path.contains('/') && path.contains('.') {
                        push(path, i, l);
                    }
                }
            }
        }
        _ => {}
    }
    out
}
