//! Hostile and broken input: archlint never crashes, never hangs, reports
//! positions right whatever the line endings, and loses nothing.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("NO_COLOR", "1")
        .env("ARCHLINT_NO_CACHE", "1")
        .args(args)
        .output()
        .unwrap()
}

fn findings(dir: &Path) -> serde_json::Value {
    let out = run(&["check", "--format", "json", dir.to_str().unwrap()]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn positions_survive_bom_crlf_cr_tabs_and_multibyte_text() {
    let dir = tempfile::tempdir().unwrap();
    // BOM, CRLF, a tab and an accented comment before the secret.
    std::fs::write(
        dir.path().join(".env"),
        "\u{feff}# réglages\r\n\tPORT=1\r\nDB_PASSWORD=Zq8vN3kL5pW2xRt7\r\n",
    )
    .unwrap();
    // Multi-byte characters before the literal on the same line, CRLF endings.
    std::fs::write(
        dir.path().join("lib.rs"),
        "// ok\r\n/* ééé */ const DB_PASSWORD: &str = \"Hq8vT2zLm4xK9wQ\";\r\n",
    )
    .unwrap();
    // Old Mac line endings: CR alone.
    std::fs::write(
        dir.path().join("old.properties"),
        "a=1\rb=2\rdb.password=Wk3nB8vQ1sZrT5\r",
    )
    .unwrap();
    let r = findings(dir.path());
    let f: Vec<(String, u64, u64, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(f.contains(&(".env".to_string(), 3, 13, 29)), "{f:?}");
    // `/* ééé */ const DB_PASSWORD: &str = "` is 37 characters: the value starts at column 38.
    assert!(f.contains(&("lib.rs".to_string(), 2, 38, 53)), "{f:?}");
    assert!(
        f.contains(&("old.properties".to_string(), 3, 13, 27)),
        "{f:?}"
    );
    // SARIF counts columns in Unicode code points (its `columnKind` says so): the same numbers.
    let out = run(&["check", "--format", "sarif", dir.path().to_str().unwrap()]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run0 = &sarif["runs"][0];
    assert_eq!(run0["columnKind"], "unicodeCodePoints");
    let regions: Vec<(String, u64, u64, u64)> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            let reg = &loc["region"];
            (
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                reg["startLine"].as_u64().unwrap(),
                reg["startColumn"].as_u64().unwrap(),
                reg["endColumn"].as_u64().unwrap(),
            )
        })
        .collect();
    for want in [
        (".env", 3, 13, 29),
        ("lib.rs", 2, 38, 53),
        ("old.properties", 3, 13, 27),
    ] {
        assert!(
            regions.contains(&(want.0.to_string(), want.1, want.2, want.3)),
            "{want:?} not in {regions:?}"
        );
    }
}

#[test]
fn special_files_and_names_do_not_stop_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("loop")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(p.join("loop"), p.join("loop/self")).unwrap();
        let _ = Command::new("mkfifo").arg(p.join("pipe")).status();
        let odd = std::ffi::OsStr::from_bytes_lossy_name();
        std::fs::write(p.join(odd), "TOKEN=1\n").unwrap();
    }
    std::fs::write(p.join("with space.env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
    std::fs::write(p.join("line\nbreak.py"), "x = 1\n").unwrap();
    let r = findings(p);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "with space.env"));
    // A newline in a file name never reaches line-based outputs raw.
    let gh = run(&["check", "--format", "github", p.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&gh.stdout)
        .lines()
        .all(|l| !l.starts_with("break.py")));
}

trait OddName {
    fn from_bytes_lossy_name() -> std::ffi::OsString;
}

impl OddName for std::ffi::OsStr {
    fn from_bytes_lossy_name() -> std::ffi::OsString {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            std::ffi::OsString::from_vec(b"caf\xe9.env".to_vec())
        }
        #[cfg(not(unix))]
        {
            std::ffi::OsString::from("cafe.env")
        }
    }
}

/// A deterministic mutation fuzzer over our fixtures, through the whole
/// pipeline (read, parse, lower, link, rules, report): no panics, no exit 2.
#[test]
fn mutated_sources_never_crash_the_pipeline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
    let seeds = [
        "n-plus-one-query/src/direct.rs",
        "n-plus-one-query/src/helpers.rs",
        "unbounded-query/queries/report.sql",
        "unbounded-query/src/lib.rs",
        "n-plus-one-query/py/views.py",
        "n-plus-one-query/ts/service.ts",
        "n-plus-one-query/go/store.go",
        "hardcoded-secret/config/app.yaml",
        "hardcoded-secret/.env",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x5eed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let tokens: &[&[u8]] = &[
        b"(",
        b")",
        b"{",
        b"}",
        b"\"",
        b"'",
        b"`",
        b"r#\"",
        b"$$",
        b"--",
        b"/*",
        b"\n",
        b"\r\n",
        b"\xff",
        b"\0",
        b"for x in y {",
        b"async ",
        b".await",
        b"SELECT",
        b"\\",
    ];
    let mut n = 0;
    for seed in seeds {
        let text = std::fs::read(root.join(seed)).unwrap();
        let ext = seed.rsplit_once('.').map(|(_, e)| e).unwrap_or("txt");
        for i in 0..40 {
            let mut t = text.clone();
            for _ in 0..(1 + next() % 8) {
                if t.is_empty() {
                    break;
                }
                let at = next() % t.len();
                match next() % 4 {
                    0 => {
                        let tok = tokens[next() % tokens.len()];
                        t.splice(at..at, tok.iter().copied());
                    }
                    1 => {
                        let end = (at + next() % 16).min(t.len());
                        t.drain(at..end);
                    }
                    2 => t.truncate(at),
                    _ => {
                        let b = next() % t.len();
                        t.swap(at, b);
                    }
                }
            }
            std::fs::write(dir.path().join(format!("m{n}_{i}.{ext}")), &t).unwrap();
            n += 1;
        }
    }
    let out = run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "2",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let internal: Vec<&str> = r["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b.as_str())
        .filter(|b| b.contains("internal error"))
        .collect();
    assert!(
        internal.is_empty(),
        "panics caught as blockers: {internal:?}"
    );
}

#[test]
fn a_failed_run_leaves_no_half_written_output() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.json");
    let out = run(&[
        "check",
        "--format",
        "json",
        "--output",
        target.to_str().unwrap(),
        "/no/such/path",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
    // An unreadable config (a directory where the file should be) is exit 2 too.
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir(proj.path().join("archlint.toml")).unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        "--config",
        proj.path().join("archlint.toml").to_str().unwrap(),
        proj.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn a_hundred_thousand_tiny_files_and_a_long_single_line_file() {
    let dir = tempfile::tempdir().unwrap();
    // 100,000 tiny files in 100 folders.
    for d in 0..100 {
        let sub = dir.path().join(format!("d{d}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..1000 {
            std::fs::write(sub.join(format!("f{i}.py")), format!("x{i} = {i}\n")).unwrap();
        }
    }
    // A minified bundle: one 3 MB line.
    let line: String = (0..150_000).map(|i| format!("var a{i}=f({i});")).collect();
    std::fs::write(dir.path().join("bundle.min.js"), line).unwrap();
    let r = findings(dir.path());
    assert_eq!(r["stats"]["files_scanned"], 100_001);
    assert!(blockers(&r).iter().all(|b| !b.contains("internal error")));
}

/// Plant random credentials in every kind of file archlint reads, and check
/// that each is found and that no output format ever contains one whole.
#[test]
fn planted_secrets_are_found_and_never_printed_whole() {
    let mut state: u64 = 0xC0FFEE;
    let mut token = |n: usize| -> String {
        const A: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                A[((state >> 33) as usize) % A.len()] as char
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut planted = Vec::new();
    let mut plant = |name: &str, make: &dyn Fn(&str) -> String, secret: String| {
        std::fs::write(dir.path().join(name), make(&secret)).unwrap();
        planted.push((name.to_string(), secret));
    };
    plant(
        ".env",
        &|s| format!("APP_ENV=prod\nAPI_SECRET={s}\n"),
        token(28),
    );
    plant(
        "config.toml",
        &|s| format!("[db]\npassword = \"{s}\"\n"),
        token(18),
    );
    plant(
        "values.yaml",
        &|s| format!("auth:\n  client_secret: \"{s}\"\n"),
        token(32),
    );
    plant(
        "settings.json",
        &|s| format!("{{\"apiKey\": \"{s}\"}}\n"),
        token(32),
    );
    plant(
        "app.properties",
        &|s| format!("spring.datasource.password={s}\n"),
        token(16),
    );
    plant(
        "Dockerfile",
        &|s| format!("FROM alpine\nENV AUTH_TOKEN={s}\n"),
        token(30),
    );
    plant(
        "lib.rs",
        &|s| format!("pub const SIGNING_SECRET: &str = \"{s}\";\n"),
        token(32),
    );
    plant("app.py", &|s| format!("SECRET_KEY = \"{s}\"\n"), token(40));
    plant(
        "app.ts",
        &|s| format!("export const jwtSecret = \"{s}\";\n"),
        token(32),
    );
    plant(
        "main.go",
        &|s| format!("package main\n\nconst apiToken = \"{s}\"\n"),
        token(32),
    );
    plant(
        "seed.sql",
        &|s| format!("CREATE USER app WITH PASSWORD '{s}';\n"),
        token(20),
    );
    plant(
        "deploy.sh",
        &|s| format!("export DATABASE_URL=postgres://app:{s}@db.internal:5432/app\n"),
        token(20),
    );
    // Values that span lines, escaped values, multi-line strings, and values
    // that go on past what a pattern matches: every byte is masked.
    let pem = |lines: &[String], nl: &str, indent: &str, label: &str| {
        let mut s = format!("-----BEGIN {label}-----{nl}");
        for l in lines {
            s.push_str(&format!("{indent}{l}{nl}"));
        }
        s.push_str(&format!("{indent}-----END {label}-----"));
        s
    };
    let body = |token: &mut dyn FnMut(usize) -> String| -> Vec<String> {
        (0..6).map(|_| token(64)).collect()
    };
    let escaped = body(&mut token);
    let escaped_pem = pem(&escaped, "\\n", "", "PRIVATE KEY");
    plant(
        "keys.env",
        &|_| format!("APP_ENV=prod\nJWT_PRIVATE_KEY=\"{escaped_pem}\"\n"),
        escaped.join(""),
    );
    let sa = body(&mut token);
    let sa_pem = pem(&sa, "\\n", "", "PRIVATE KEY");
    plant(
        "service-account.json",
        &|_| {
            format!(
                "{{\n  \"type\": \"service_account\",\n  \"private_key_id\": \"0f3c\",\n  \"private_key\": \"{sa_pem}\\n\",\n  \"client_email\": \"svc@p.iam.gserviceaccount.com\"\n}}\n"
            )
        },
        sa.join(""),
    );
    let real = body(&mut token);
    let real_pem = pem(&real, "\n", "", "RSA PRIVATE KEY");
    plant("id_deploy", &|_| format!("{real_pem}\n"), real.join(""));
    let yaml_key = body(&mut token);
    let yaml_pem = pem(&yaml_key, "\n", "    ", "EC PRIVATE KEY");
    plant(
        "tls.yaml",
        &|_| format!("tls:\n  key: |\n    {yaml_pem}\n  port: 443\n"),
        yaml_key.join(""),
    );
    plant(
        "block.yaml",
        &|s| format!("db:\n  password: |\n    {s}\n  user: app\n"),
        token(24),
    );
    plant(
        "multi.toml",
        &|s| format!("[jwt]\nsecret = \"\"\"\n{s}\"\"\"\nttl = 3600\n"),
        token(32),
    );
    let toml_key = body(&mut token);
    let toml_pem = pem(&toml_key, "\n", "", "OPENSSH PRIVATE KEY");
    plant(
        "ssh.toml",
        &|_| format!("[deploy]\nkey = \"\"\"\n{toml_pem}\n\"\"\"\n"),
        toml_key.join(""),
    );
    // A token that goes on past the provider's pattern, and a header value
    // past the characters the header reader takes.
    let gh_tail = format!("ghp_{}.{}", token(36), token(20));
    plant("tail.yaml", &|s| format!("deploy:\n  key: {s}\n"), gh_tail);
    plant(
        "ci.yaml",
        &|s| {
            format!(
                "steps:\n  - run: curl -H \"Authorization: Bearer {s}\" https://api.example.net\n"
            )
        },
        format!("{}!{}", token(24), token(12)),
    );
    let root = dir.path().to_str().unwrap();
    let r = findings(dir.path());
    for (file, _) in &planted {
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"] == file.as_str() && f["rule"] == "hardcoded-secret"),
            "secret in {file} not found: {}",
            r["findings"]
        );
    }
    for fmt in ["json", "text", "sarif", "github"] {
        let out = run(&["check", "--format", fmt, root]);
        let text = String::from_utf8_lossy(&out.stdout);
        for (file, secret) in &planted {
            assert!(
                !text.contains(secret.as_str()),
                "{fmt} output shows the secret of {file}"
            );
            // No eight characters of it past the first four, anywhere.
            let chars: Vec<char> = secret.chars().collect();
            for w in chars[4..].windows(8) {
                let w: String = w.iter().collect();
                assert!(
                    !text.contains(&w),
                    "{fmt} output shows `{}…` of the secret of {file}",
                    &w[..2]
                );
            }
        }
    }
}

/// Run a check expected to find something (exit 1) and return its JSON report.
fn report_with_findings(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn blockers(r: &serde_json::Value) -> Vec<String> {
    r["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect()
}

fn has_secret_finding(r: &serde_json::Value, path: &str) -> bool {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "hardcoded-secret" && f["path"] == path)
}

/// A 1 GB sparse file is refused from its metadata, without reading it; an
/// unreadable file is a blocker; the rest of the tree is still analysed.
#[test]
fn a_sparse_gigabyte_file_and_an_unreadable_file_become_blockers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::File::create(p.join("huge.sql"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    std::fs::write(p.join(".env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
    let locked = p.join("locked.py");
    std::fs::write(&locked, "x = 1\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let r = findings(p);
    let b = blockers(&r);
    assert!(
        b.iter()
            .any(|b| b.starts_with("huge.sql: skipped: 1073741824 bytes is over the size limit")),
        "{b:?}"
    );
    // Root reads anything: only check the blocker when the file is unreadable to us.
    if std::fs::read(&locked).is_err() {
        assert!(
            b.iter().any(|b| b.starts_with("locked.py: cannot read")),
            "{b:?}"
        );
    }
    assert!(has_secret_finding(&r, ".env"));
}

/// A file that keeps growing while archlint scans is read up to the size cap
/// (or refused from its size), never followed without end.
#[test]
fn a_file_growing_during_the_scan_is_bounded() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    std::fs::write(p.join(".env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
    let growing = p.join("growing.log.py");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut f = std::fs::File::create(&growing).unwrap();
        std::thread::spawn(move || {
            let chunk = "x = 1\n".repeat(10_000);
            let mut written = 0usize;
            // At most 256 MB, so a failing test cannot fill the disk.
            while !stop.load(Ordering::Relaxed) && written < 256 << 20 {
                f.write_all(chunk.as_bytes()).unwrap();
                written += chunk.len();
            }
        })
    };
    while std::fs::metadata(&growing).unwrap().len() < 1 << 20 {
        std::thread::yield_now();
    }
    let out = run(&[
        "check",
        "--format",
        "json",
        "--max-file-size",
        "2000000",
        p.to_str().unwrap(),
    ]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(has_secret_finding(&r, ".env"));
    assert!(
        r["stats"]["bytes_scanned"].as_u64().unwrap_or(0) < 3_000_000,
        "{}",
        r["stats"]
    );
    assert!(blockers(&r).iter().all(|b| !b.contains("internal error")));
}

/// A file that takes longer than `--file-time-budget` is stopped, reported as
/// a blocker naming it, and the scan goes on with the other files.
#[test]
fn a_file_over_the_time_budget_is_a_blocker_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // About 2 MB of Rust: parsing it alone takes far more than 1 ms.
    let big: String = (0..40_000)
        .map(|i| format!("fn f{i}(x: u32) -> u32 {{ x.wrapping_add({i}) }}\n"))
        .collect();
    std::fs::write(p.join("big.rs"), big).unwrap();
    std::fs::write(p.join(".env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
    let r = report_with_findings(&[
        "check",
        "--format",
        "json",
        "--file-time-budget",
        "1",
        p.to_str().unwrap(),
    ]);
    let b = blockers(&r);
    assert!(
        b.iter()
            .any(|b| b
                .starts_with("big.rs: analysis stopped: over the per-file time budget of 1 ms")),
        "{b:?}"
    );
    assert!(has_secret_finding(&r, ".env"));
    // Without a budget the same file is analysed in full.
    let out = run(&[
        "check",
        "--format",
        "json",
        "--file-time-budget",
        "0",
        p.to_str().unwrap(),
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(blockers(&r).is_empty(), "{:?}", blockers(&r));
}

/// Determinism as a property: trees assembled at random (seeded) from every
/// fixture and example backend give the same report, byte for byte minus
/// `stats`, whatever the number of worker threads and on every run.
#[test]
fn generated_trees_give_the_same_report_for_any_job_count() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for seed in [1u64, 7, 42] {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let dir = tempfile::tempdir().unwrap();
        // About half the files, each under its own path, some moved into one of
        // a few service folders (so cross-file links and service rules vary).
        for f in &files {
            if next() % 2 == 0 {
                continue;
            }
            let rel = f.strip_prefix(&root).unwrap();
            let target = match next() % 3 {
                0 => dir.path().join(rel),
                n => dir.path().join(format!("svc{n}")).join(rel),
            };
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(f, &target).unwrap();
        }
        let p = dir.path().to_str().unwrap();
        let report = |jobs: &str| {
            let out = run(&["check", "--format", "json", "--jobs", jobs, p]);
            let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v.as_object_mut().unwrap().remove("stats");
            serde_json::to_string(&v).unwrap()
        };
        let one = report("1");
        assert!(one.contains("\"findings\""));
        assert_eq!(one, report("8"), "seed {seed}: --jobs 1 and 8 differ");
        assert_eq!(one, report("2"), "seed {seed}: --jobs 1 and 2 differ");
        assert_eq!(one, report("8"), "seed {seed}: two runs differ");
    }
}

/// A 50 MB single-line file let through the size cap: the time budget stops
/// its analysis, it becomes a blocker, and the rest of the tree is reported.
#[test]
fn a_fifty_megabyte_single_line_file_is_stopped_by_the_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let chunk = "var a=f(1,[2,3],{k:'v'});";
    let line = chunk.repeat(50_000_000 / chunk.len());
    std::fs::write(p.join("huge.min.js"), line).unwrap();
    std::fs::write(p.join(".env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
    let r = report_with_findings(&[
        "check",
        "--format",
        "json",
        "--max-file-size",
        "64000000",
        "--file-time-budget",
        "500",
        // Minified: skipped as vendored unless asked for.
        "--include-vendored",
        p.to_str().unwrap(),
    ]);
    assert!(has_secret_finding(&r, ".env"));
    let b = blockers(&r);
    assert!(
        b.iter()
            .any(|b| b.starts_with("huge.min.js: analysis stopped: over the per-file time budget")),
        "{b:?}"
    );
}
