//! The whole per-file pipeline: write the input as each kind of file, scan
//! it (parse -> model -> link -> rules -> report) and render every format.
#![no_main]

use archlint::config::Config;
use archlint::engine::{self, Options};
use archlint::report::{github, json, sarif, Report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("archlint-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a.rs", "a.sql", "a.py", "a.ts", "a.go", ".env", "a.yaml"] {
        std::fs::write(dir.join(name), data).unwrap();
    }
    let opts = Options {
        paths: vec![dir.clone()],
        jobs: 1,
        no_ignore: true,
        max_file_size: 1 << 20,
        file_time_budget: Some(std::time::Duration::from_secs(5)),
        select: None,
        ignore: Vec::new(),
        config: Config::default(),
        baseline: None,
        only_paths: None,
    };
    let a = engine::run(&opts).expect("a scan of readable files never fails");
    assert!(
        a.blockers.iter().all(|b| !b.contains("internal error")),
        "{:?}",
        a.blockers
    );
    let r = Report::build(&a, 0);
    let _ = json::render(&r);
    let _ = sarif::render(&r, &a.rules, &a.suppressed);
    let _ = github::render(&r, None);
});
