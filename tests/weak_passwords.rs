//! Hard-coded passwords of any strength, on request: `--include-weak` (or `include_weak` in
//! the config) reports literal passwords too weak for the generic detector, in password-named
//! settings and URLs, with their entropy; the default report stays quiet, and fixtures,
//! samples, comments and stronger findings are not reported twice or at all.

mod common_hostile;
use common_hostile::{findings, generic_secret, keyhound, run};

/// (path, rule, entropy bits) of each finding of `keyhound dir . <extra>` in `root`.
fn scan(root: &std::path::Path, extra: &[&str]) -> Vec<(String, String, f64)> {
    let r = run(keyhound()
        .current_dir(root)
        .args(["dir", ".", "--format", "json"])
        .args(extra));
    assert!(r.code <= 1, "{}", r.stderr);
    findings(&r)
        .iter()
        .map(|f| {
            (
                f["location"]["path"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["secret"]["entropy_bits"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn weak_passwords_are_reported_only_on_request_and_only_in_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    // Weak, in the product's own configuration: reported on request.
    write(
        "config/app.env",
        "DB_PASSWORD=Winter2024\nSMTP_PASS=letmein\n",
    );
    write(
        "config/db.yml",
        "url: postgres://orders:letmein@db.internal/orders\n",
    );
    // Not passwords, or not configuration.
    write(
        "config/other.env",
        "# DB_PASSWORD=Spring2023\nPASSWORD_MIN_LENGTH=12\nDB_PASSWORD=${DB_PASSWORD}\n",
    );
    write("tests/fixtures/app.env", "DB_PASSWORD=Autumn2022\n");
    write(
        "src/check.c",
        "printf(\"%s\\n\", ok ? \"pass\" : \"fail\");\n",
    );
    // Strong: the generic detector's finding, reported once.
    write(
        "config/strong.env",
        &format!("DB_PASSWORD={}\n", generic_secret(91)),
    );

    let default = scan(root, &[]);
    assert_eq!(default.len(), 1, "{default:?}");
    assert_eq!(default[0].1, "generic-secret-assignment");

    let mut weak = scan(root, &["--include-weak"]);
    weak.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let found: Vec<(&str, &str)> = weak.iter().map(|f| (f.0.as_str(), f.1.as_str())).collect();
    assert_eq!(
        found,
        [
            ("config/app.env", "weak-password"),
            ("config/app.env", "weak-password"),
            ("config/db.yml", "weak-url-password"),
            ("config/strong.env", "generic-secret-assignment"),
        ]
    );
    for (path, rule, bits) in &weak {
        if rule.starts_with("weak") {
            assert!(*bits < 64.0, "{path}: {bits} bits");
        }
    }

    // The config key does the same, for audits run without flags.
    write("keyhound.toml", "include_weak = true\n");
    assert_eq!(scan(root, &[]).len(), 4);
}
