//! Every report format over one fixture scan: golden files (`KEYHOUND_BLESS=1 cargo test`
//! rewrites them), the SARIF log validated against the official SARIF 2.1.0 schema and against
//! GitHub's own requirements, and no raw secret in any output, anywhere.

mod common_reports;

use std::fs;
use std::path::{Path, PathBuf};

use common_reports::{assert_no_secret, fixture, run, sha256_hex, Fixture};
use serde_json::Value;

/// Replaces what changes from run to run or release to release: timings and the version.
fn normalise(text: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let text = text
        .replace(
            &format!("\"version\": \"{version}\""),
            "\"version\": \"<version>\"",
        )
        .replace(
            &format!("\"semanticVersion\": \"{version}\""),
            "\"semanticVersion\": \"<version>\"",
        );
    // `in 0.05s` → `in <time>`
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" in ") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits > 0 && rest[digits..].starts_with('s') {
            out.push_str("<time>");
            rest = &rest[digits + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file `name`, or rewrites it under `KEYHOUND_BLESS=1`.
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("KEYHOUND_BLESS").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden {} ({e}); run with KEYHOUND_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {:?}\n  actual: {:?}\nreview the change, then run with KEYHOUND_BLESS=1 to accept it\n--- actual ---\n{actual}",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

/// One scan of the fixture in `format`; stdout and the stderr summary, normalised.
fn scan(fx: &Fixture, format: &str) -> (String, String) {
    let r = run(&mut fx.keyhound(&["dir", ".", "--format", format, "--color", "never"]));
    assert_eq!(r.code, 1, "findings exit 1; stderr: {}", r.stderr);
    assert_no_secret(&format!("{format} stdout"), &r.stdout, &fx.keys.all());
    assert_no_secret(&format!("{format} stderr"), &r.stderr, &fx.keys.all());
    (normalise(&r.stdout), normalise(&r.stderr))
}

#[test]
fn human_report_matches_its_golden_file() {
    let fx = fixture();
    let (stdout, stderr) = scan(&fx, "human");
    assert!(!stdout.contains('\x1b'), "--color never means no escapes");
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "human output wider than 80 columns: {line:?}"
        );
    }
    // The secret shared by .env and settings.py gets its playbook once, naming both places.
    assert_eq!(stdout.matches("What to do about ").count(), 6, "{stdout}");
    assert_eq!(
        stdout
            .matches("found at services/billing/.env:3, services/billing/settings.py:3\n")
            .count(),
        1,
        "{stdout}"
    );
    check_golden(
        "reports.human.txt",
        &format!("{stdout}--- stderr ---\n{stderr}"),
    );
}

#[test]
fn json_and_jsonl_reports_match_their_golden_files() {
    let fx = fixture();
    let (json, _) = scan(&fx, "json");
    let doc: Value = serde_json::from_str(&json).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7);
    let env = &findings
        .iter()
        .find(|f| f["location"]["path"] == "services/billing/.env")
        .unwrap();
    assert_eq!(env["rule"], "stripe-live-secret-key");
    assert_eq!(env["location"]["line"], 3);
    assert_eq!(env["secret"]["sha256"], sha256_hex(&fx.keys.live));
    check_golden("reports.json", &json);

    let (jsonl, _) = scan(&fx, "jsonl");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        &lines, findings,
        "jsonl holds the same findings, one per line"
    );
    check_golden("reports.jsonl", &jsonl);
}

#[test]
fn github_annotations_and_step_summary_match_their_golden_files() {
    let fx = fixture();
    let (annotations, _) = scan(&fx, "github");
    let lines: Vec<&str> = annotations.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("::error ") || l.starts_with("::notice ")));
    assert!(annotations.contains("::notice file=services/billing/settings.py,line=4,"));
    // A comma in a file name is escaped so it does not end the property.
    assert!(annotations.contains("file=ops/run book%2C v2.md,line=3,"));
    assert!(lines.iter().all(|l| !l.contains('\r')));
    check_golden("reports.github.txt", &annotations);

    let summary = fx.dir.path().join("step-summary.md");
    fs::write(&summary, "previous step\n").unwrap();
    let r = run(fx
        .keyhound(&["dir", ".", "--format", "json"])
        .env("GITHUB_STEP_SUMMARY", &summary));
    assert_eq!(r.code, 1);
    let md = fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("previous step\n## keyhound: 7 findings (6 distinct secrets)"));
    assert_no_secret("step summary", &md, &fx.keys.all());
    check_golden("reports.step-summary.md", &normalise(&md));
}

#[test]
fn sarif_report_matches_its_golden_file_and_githubs_requirements() {
    let fx = fixture();
    let (sarif, _) = scan(&fx, "sarif");
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    check_github_requirements(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let env = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "services/billing/.env"
                && r["ruleId"] == "stripe-live-secret-key"
        })
        .expect("the live key in .env");
    assert_eq!(
        env["partialFingerprints"]["keyhound/v1"],
        sha256_hex(&fx.keys.live).as_str()
    );
    let region = &env["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 3);
    assert_eq!(region["startColumn"], 19);
    assert_eq!(region["endColumn"], 19 + fx.keys.live.len() as u64);
    assert!(results.iter().any(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "ops/run%20book,%20v2.md"
    ));
    check_golden("reports.sarif.json", &sarif);
}

/// What GitHub code scanning needs beyond the schema.
fn check_github_requirements(doc: &Value) {
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "rule id {id} is not kebab-case"
        );
        assert!(!rule["name"].as_str().unwrap().contains(' '));
        for field in ["shortDescription", "fullDescription"] {
            assert!(!rule[field]["text"].as_str().unwrap().is_empty());
        }
        assert!(rule["help"]["markdown"].as_str().unwrap().contains("1. "));
        assert!(rule["help"]["text"].as_str().unwrap().contains("1. "));
        assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("security-severity is numeric");
        assert!((0.0..=10.0).contains(&severity));
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"security") && tags.contains(&"secret"));
        assert!(["error", "warning", "note"]
            .contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            result["ruleId"], rules[index]["id"],
            "ruleIndex points at ruleId"
        );
        assert_eq!(result["kind"], "fail");
        let fp = result["partialFingerprints"]["keyhound/v1"]
            .as_str()
            .unwrap();
        assert!(fp.len() == 64 && fp.bytes().all(|b| b.is_ascii_hexdigit()));
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.contains('\\') && !uri.starts_with('/') && !uri.contains("://"));
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let region = &location["region"];
        let get = |k: &str| region[k].as_u64().unwrap_or(0);
        assert!(get("startLine") >= 1 && get("startColumn") >= 1);
        assert!(get("endLine") >= get("startLine") && get("endColumn") >= 1);
        assert!(region.get("snippet").is_none() && location.get("contextRegion").is_none());
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
    }
}

#[test]
fn sarif_report_is_valid_against_the_sarif_2_1_0_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let Ok(schema_text) = fs::read_to_string(&schema_path) else {
        eprintln!(
            "notice: {} not found; skipping SARIF schema validation",
            schema_path.display()
        );
        return;
    };
    let schema: Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");

    let fx = fixture();
    let (sarif, _) = scan(&fx, "sarif");
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));

    // The validator must be able to fail: a result without a message is invalid SARIF.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));

    // A clean scan is valid SARIF too (an empty results array).
    fs::remove_dir_all(fx.root()).unwrap();
    common_reports::write(&fx.root(), "clean.txt", "nothing here\n");
    let r = run(&mut fx.keyhound(&["dir", ".", "--format", "sarif"]));
    assert_eq!(r.code, 0);
    let clean: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(clean["runs"][0]["results"], Value::Array(Vec::new()));
    assert!(validator.is_valid(&clean));
}

/// No raw secret in any format, on stdout, stderr, in the `--output` file or in the job
/// summary; and `--output` files are private.
#[test]
fn no_format_ever_prints_a_raw_secret_and_output_files_are_private() {
    let fx = fixture();
    let secrets = fx.keys.all();
    let summary = fx.dir.path().join("summary.md");
    for format in ["human", "json", "jsonl", "sarif", "github", "gitlab"] {
        for color in ["never", "always"] {
            let out = fx.dir.path().join(format!("report-{format}-{color}"));
            let r = run(fx
                .keyhound(&["dir", ".", "--format", format, "--color", color])
                .arg("-o")
                .arg(&out)
                .env("GITHUB_STEP_SUMMARY", &summary));
            assert_eq!(r.code, 1, "{format}: {}", r.stderr);
            assert!(
                r.stdout.is_empty(),
                "{format}: --output leaves stdout empty"
            );
            assert_no_secret("stderr", &r.stderr, &secrets);
            let written = fs::read_to_string(&out).unwrap();
            assert!(
                written.contains(&sha256_hex(&fx.keys.live)[..12]),
                "{format}"
            );
            assert_no_secret(&format!("the {format} --output file"), &written, &secrets);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{format} report file mode");
            }
        }
    }
    let md = fs::read_to_string(&summary).unwrap();
    assert_eq!(md.matches("## keyhound:").count(), 12);
    assert_no_secret("the step summary", &md, &secrets);

    // --show-secrets reveals values in human and JSON reports, never in SARIF, annotations,
    // GitLab's report or the job summary, which are uploaded and shown to everyone who can
    // see the run.
    let r = run(&mut fx.keyhound(&["dir", ".", "--format", "json", "--show-secrets"]));
    assert!(r.stdout.contains(&fx.keys.live), "--show-secrets works");
    fs::remove_file(&summary).unwrap();
    for format in ["sarif", "github", "gitlab"] {
        let r = run(fx
            .keyhound(&["dir", ".", "--format", format, "--show-secrets"])
            .env("GITHUB_STEP_SUMMARY", &summary));
        assert_eq!(r.code, 1);
        assert_no_secret(format, &r.stdout, &secrets);
    }
    assert_no_secret(
        "the step summary",
        &fs::read_to_string(&summary).unwrap(),
        &secrets,
    );
}

#[test]
fn color_always_highlights_and_never_does_not() {
    let fx = fixture();
    let r = run(fx
        .keyhound(&["dir", ".", "--color", "always"])
        .env("NO_COLOR", "1"));
    // An explicit --color always wins over NO_COLOR; the secret's span is underlined.
    assert!(r.stdout.contains("\x1b[1;31;4msk_live_"), "{}", r.stdout);
    let r = run(&mut fx.keyhound(&["dir", "."]));
    assert!(
        !r.stdout.contains('\x1b'),
        "auto: not a terminal, no colour"
    );
}

/// A report committed next to the code (or these docs) must not be reported itself: the
/// redacted forms in it end with `…`, which marks a value as already redacted.
#[test]
fn reports_scanned_again_are_not_findings() {
    let fx = fixture();
    let reports = fx.dir.path().join("saved-reports");
    fs::create_dir(&reports).unwrap();
    for (format, name) in [
        ("human", "report.txt"),
        ("json", "report.json"),
        ("sarif", "report.sarif"),
        ("github", "annotations.txt"),
        ("gitlab", "gl-secret-detection-report.json"),
    ] {
        let r = run(&mut fx.keyhound(&["dir", ".", "--format", format]));
        assert_eq!(r.code, 1);
        fs::write(reports.join(name), r.stdout).unwrap();
    }
    // The embedded rule pack, generic detector included.
    let r = run(common_reports::keyhound()
        .arg("dir")
        .arg(&reports)
        .args(["--format", "json"]));
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["findings"], Value::Array(Vec::new()), "{}", r.stdout);
    assert_eq!(r.code, 0);
}
