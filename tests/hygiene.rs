//! Secret hygiene: a scanner holds the very secrets it hunts for. Plants fake secrets of several
//! rules — one beside a second, filtered secret on the same line, one copied on its line where no
//! rule matches the copy, one base64-encoded — and reads every output channel of every format
//! (stdout, `--output` file, stderr, with and without `-q`, `dir` and `stdin`) for a raw value.
//! `--show-secrets` must show them, so the search itself is proven able to fail.

mod common_hostile;

use std::fs;
use std::path::Path;

use base64::Engine as _;
use common_hostile::*;

struct Planted {
    /// Reported secrets: `(rule id, raw value)`.
    reported: Vec<(&'static str, String)>,
    /// Raw strings that must not show either: a filtered secret, an encoded one.
    also_hidden: Vec<String>,
}

impl Planted {
    fn all_hidden(&self) -> Vec<&str> {
        self.reported
            .iter()
            .map(|(_, s)| s.as_str())
            .chain(self.also_hidden.iter().map(String::as_str))
            .collect()
    }
}

fn plant(root: &Path) -> Planted {
    let generic = generic_secret(101);
    let demo = token("hdemo_", 102);
    let low = token("hlow_", 103);
    let copied = generic_secret(104);
    let encoded_value = generic_secret(105);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&encoded_value);
    write(root, "keyhound.toml", TOKEN_RULES);
    write(
        root,
        "service/.env",
        format!("DEBUG=1\nAPI_KEY={generic}\n"),
    );
    // `--min-confidence medium` drops the low-confidence token: it is on the reported token's
    // line all the same, and that line is printed as context.
    write(
        root,
        "web/app.js",
        format!("const keys = {{ live: \"{demo}\", old: \"{low}\" }};\n"),
    );
    write(
        root,
        "conf/settings.yml",
        format!("auth_token: \"{copied}\"   # was also in backup: \"{copied}\"\n"),
    );
    write(
        root,
        "deploy/secret.yaml",
        format!("apiVersion: v1\nkind: Secret\ndata:\n  password: {encoded}\n"),
    );
    Planted {
        reported: vec![
            ("generic-secret-assignment", generic),
            ("demo-token", demo),
            ("generic-secret-assignment", copied),
            ("generic-secret-assignment", encoded_value),
        ],
        also_hidden: vec![low, encoded],
    }
}

fn assert_hidden(what: &str, text: &str, secrets: &[&str]) {
    for (i, secret) in secrets.iter().enumerate() {
        assert!(!text.contains(secret), "{what}: raw secret #{i} shows");
    }
}

#[test]
fn no_output_channel_of_any_format_shows_a_raw_secret() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let planted = plant(&tree);
    let hidden = planted.all_hidden();
    let out_file = dir.path().join("report.out");

    for format in ["human", "json", "jsonl"] {
        for quiet in [false, true] {
            for to_file in [false, true] {
                let what = format!("{format}, quiet {quiet}, file {to_file}");
                let _ = fs::remove_file(&out_file);
                let mut cmd = keyhound();
                cmd.arg("dir").arg(&tree).args([
                    "--format",
                    format,
                    "--min-confidence",
                    "medium",
                    "--color",
                    "always",
                ]);
                if quiet {
                    cmd.arg("--no-summary");
                }
                if to_file {
                    cmd.arg("--output").arg(&out_file);
                }
                let r = run(&mut cmd);
                assert_eq!(r.code, 1, "{what}: {}", r.stderr);
                assert_hidden(&format!("{what}: stdout"), &r.stdout, &hidden);
                assert_hidden(&format!("{what}: stderr"), &r.stderr, &hidden);
                assert_eq!(r.stderr.is_empty(), quiet, "{what}: {}", r.stderr);
                let report = if to_file {
                    assert!(r.stdout.is_empty(), "{what}");
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = fs::metadata(&out_file).unwrap().permissions().mode();
                        assert_eq!(mode & 0o777, 0o600, "{what}");
                    }
                    fs::read_to_string(&out_file).unwrap()
                } else {
                    r.stdout.clone()
                };
                assert_hidden(&format!("{what}: report"), &report, &hidden);
                // The report does describe every planted secret: by fingerprint in JSON, by
                // rule and path in text.
                for (rule, secret) in &planted.reported {
                    assert!(report.contains(rule), "{what}: no {rule}");
                    if format != "human" {
                        assert!(report.contains(&sha256_hex(secret)), "{what}: {rule}");
                    }
                }
                for path in ["service/.env", "web/app.js", "conf/settings.yml"] {
                    assert!(report.contains(path), "{what}: no {path}");
                }
            }
        }
    }
}

#[test]
fn context_lines_hide_filtered_and_copied_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let planted = plant(dir.path());
    let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]).args([
        "--format",
        "json",
        "--min-confidence",
        "medium",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found = findings(&r);
    assert_eq!(found.len(), 4, "{found:#?}");
    let context = |path: &str| {
        found
            .iter()
            .find(|f| f["location"]["path"] == path)
            .unwrap_or_else(|| panic!("no finding in {path}"))["context"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The low-confidence token was filtered out of the report, and is redacted in the line.
    let line = context("web/app.js");
    assert!(line.starts_with("const keys = { live: \"hdemo_"), "{line}");
    assert!(line.contains("old: \"hlow_"), "{line}");
    assert_eq!(line.matches('\u{2026}').count(), 2, "{line}");
    // Both copies of the secret are redacted, though a rule matched only the first.
    let line = context("conf/settings.yml");
    assert_eq!(line.matches('\u{2026}').count(), 2, "{line}");
    assert!(line.contains("# was also in backup: \""), "{line}");
    // The base64 span is redacted too: it is the secret, only spelled differently.
    let line = context("deploy/secret.yaml");
    assert!(line.starts_with("password: "), "{line}");
    assert!(line.ends_with('\u{2026}'), "{line}");
    assert_hidden("json", &r.stdout, &planted.all_hidden());
}

#[test]
fn stdin_and_its_error_messages_show_no_raw_secret() {
    let secret = generic_secret(106);
    let input = format!("# pasted\nAPI_KEY={secret}\n");
    for format in ["human", "json", "jsonl"] {
        let r = run(keyhound()
            .args(["stdin", "--name", "pasted.env", "--format", format])
            .write_stdin(input.clone()));
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        assert!(r.stdout.contains("pasted.env"), "{format}");
        assert_no_raw(&r, &[&secret]);
    }
    // Over the size limit: an error message, still without the content.
    let r = run(keyhound()
        .args(["stdin", "--max-file-size", "8"])
        .write_stdin(input));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_no_raw(&r, &[&secret]);
}

#[test]
fn show_secrets_shows_them_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let planted = plant(dir.path());
    for format in ["human", "json", "jsonl"] {
        let r = run(keyhound().current_dir(dir.path()).args(["dir", "."]).args([
            "--format",
            format,
            "--min-confidence",
            "medium",
            "--show-secrets",
        ]));
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        for (rule, secret) in &planted.reported {
            assert!(
                r.stdout.contains(secret.as_str()),
                "{format}: {rule}'s secret not shown with --show-secrets"
            );
        }
        // Still nothing on stderr: the summary counts, it does not quote.
        assert_hidden(format, &r.stderr, &planted.all_hidden());
    }
}
