//! `archlint mcp` driven through rmcp's own client over a child process of
//! the built binary: initialize, list tools, call each, compare `check` with
//! `archlint check --format json`, and the refusals.

use std::path::{Path, PathBuf};

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RunningService, ServiceError};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

async fn connect(root: &Path) -> RunningService<RoleClient, ()> {
    let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_archlint")).configure(|c| {
        c.arg("mcp")
            .arg(root)
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1");
    });
    let transport = TokioChildProcess::new(cmd).expect("spawn archlint mcp");
    ().serve(transport).await.expect("initialize")
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> Result<Value, ServiceError> {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let r = client.call_tool(params).await?;
    assert_ne!(r.is_error, Some(true), "{tool} failed: {r:?}");
    Ok(r.structured_content.expect("structured output"))
}

fn error_message(e: ServiceError) -> String {
    match e {
        ServiceError::McpError(d) => d.message.into_owned(),
        other => panic!("not an MCP error: {other:?}"),
    }
}

fn stable(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("stats");
    v
}

fn cli_report(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .env_remove("GITHUB_ACTIONS")
        .arg("check")
        .args(["--format", "json"])
        .args(args)
        .arg(demo())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_real_client_initializes_lists_tools_and_calls_each() {
    let client = connect(&demo()).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "archlint");
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "check",
            "endpoints",
            "explain",
            "findings_for_file",
            "schema"
        ]
    );
    for t in &tools {
        assert!(t.description.is_some(), "{} has a description", t.name);
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
        assert!(t.output_schema.is_some(), "{} has an output schema", t.name);
    }
    let explain = tools.iter().find(|t| t.name == "explain").unwrap();
    assert!(explain.input_schema["properties"].get("rule").is_some());

    // check: the same report as `archlint check --format json` (timings aside).
    let report = call(&client, "check", json!({})).await.unwrap();
    assert_eq!(stable(report.clone()), stable(cli_report(&[])));
    let schema: Value =
        serde_json::from_str(include_str!("../schema/agent-output.schema.json")).unwrap();
    assert!(jsonschema::is_valid(&schema, &report));

    // check with a rule selected: what `--select` gives.
    let selected = call(&client, "check", json!({"select": ["n-plus-one-query"]}))
        .await
        .unwrap();
    assert_eq!(
        stable(selected.clone()),
        stable(cli_report(&["--select", "n-plus-one-query"]))
    );
    assert!(selected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule"] == "n-plus-one-query"));

    // check limited to a folder: only its findings.
    let scoped = call(&client, "check", json!({"paths": ["src/routes"]}))
        .await
        .unwrap();
    let scoped = scoped["findings"].as_array().unwrap();
    assert!(!scoped.is_empty());
    assert!(scoped
        .iter()
        .all(|f| f["path"].as_str().unwrap().starts_with("src/routes/")));

    // findings_for_file: the report's findings of that file, with help.
    let file = report["findings"][0]["path"].as_str().unwrap().to_string();
    let ff = call(&client, "findings_for_file", json!({"path": file}))
        .await
        .unwrap();
    let expected: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == file.as_str())
        .collect();
    let got: Vec<&Value> = ff["findings"].as_array().unwrap().iter().collect();
    assert_eq!(got, expected);
    assert!(got.iter().any(|f| f.get("help").is_some()));

    // explain: the text of `archlint explain`.
    let ex = call(&client, "explain", json!({"rule": "n-plus-one-query"}))
        .await
        .unwrap();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .args(["explain", "n-plus-one-query"])
        .output()
        .unwrap();
    assert_eq!(
        ex["text"].as_str().unwrap(),
        String::from_utf8_lossy(&cli.stdout)
    );

    // endpoints: the report's inventory, filtered.
    let eps = call(&client, "endpoints", json!({})).await.unwrap();
    assert_eq!(eps["endpoints"], report["endpoints_created"]);
    let posts = call(&client, "endpoints", json!({"method": "post"}))
        .await
        .unwrap();
    let posts = posts["endpoints"].as_array().unwrap();
    assert!(!posts.is_empty());
    assert!(posts.iter().all(|e| e["method"] == "POST"));
    let prefixed = call(&client, "endpoints", json!({"prefix": "/health"}))
        .await
        .unwrap();
    assert!(prefixed["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["path"].as_str().unwrap().starts_with("/health")));

    // schema: the demo's tables as the migration leaves them.
    let schema = call(&client, "schema", json!({"table": "order_items"}))
        .await
        .unwrap();
    let t = &schema["tables"][0];
    assert_eq!(t["table"], "order_items");
    assert_eq!(t["columns"], json!(["id", "order_id", "sku", "quantity"]));
    assert_eq!(t["keys"], json!([["id"]]));
    assert_eq!(t["indexes"][0]["name"], "order_items_order_id_idx");
    assert_eq!(t["history"][0]["change"], "create table");
    assert_eq!(
        t["history"][0]["file"],
        "migrations/20240101000000_init.sql"
    );
    let all = call(&client, "schema", json!({})).await.unwrap();
    assert_eq!(all["tables"].as_array().unwrap().len(), 3);

    client.cancel().await.unwrap();
}

#[tokio::test]
async fn refusals_are_mcp_errors_with_a_clear_message() {
    let client = connect(&demo()).await;
    let e = call(&client, "explain", json!({"rule": "no-such-rule"}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("unknown rule `no-such-rule`"));

    for outside in ["../../Cargo.toml", "/etc/passwd", "src/../../fixtures"] {
        let e = call(&client, "findings_for_file", json!({"path": outside}))
            .await
            .unwrap_err();
        let m = error_message(e);
        assert!(m.contains("outside the workspace"), "{outside}: {m}");
    }
    let e = call(&client, "check", json!({"paths": ["../"]}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("outside the workspace"));

    let e = call(&client, "findings_for_file", json!({"path": "src/nope.rs"}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("src/nope.rs"));
    let e = call(&client, "findings_for_file", json!({"path": "src"}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("a directory"));

    let e = call(&client, "check", json!({"select": ["bogus"]}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("unknown rule `bogus`"));
    let e = call(&client, "schema", json!({"table": "nope"}))
        .await
        .unwrap_err();
    assert!(error_message(e).contains("unknown table"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_file_changed_on_disk_is_analysed_again_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"t\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let listing = |root: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = walk(root);
        v.sort();
        v
    };
    let before = listing(root);
    let client = connect(root).await;
    let r = call(&client, "findings_for_file", json!({"path": "src/lib.rs"}))
        .await
        .unwrap();
    assert_eq!(r["findings"], json!([]));
    std::fs::write(
        root.join("src/lib.rs"),
        "pub const AWS_SECRET_ACCESS_KEY: &str = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Kq3T9mL\";\n",
    )
    .unwrap();
    let after_edit = listing(root);
    let r = call(&client, "findings_for_file", json!({"path": "src/lib.rs"}))
        .await
        .unwrap();
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["hardcoded-secret"], "{r}");
    assert!(!r.to_string().contains("wJalrXUtnFEMI"), "never the secret");
    client.cancel().await.unwrap();
    assert_eq!(listing(root), after_edit, "the server wrote nothing");
    assert_eq!(before, after_edit);
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
