//! Password hashes (rules/password-hashes.toml) end to end: low severity, no revoke URL, and a
//! playbook that says to treat the password as exposed rather than calling the hash a test key.

use keyhound::rules::templates::{expand, ExampleRng};

mod common_hostile;
use common_hostile::{findings, scan_json, write};

fn fake(template: &str, seed: u64) -> String {
    expand(template, &mut ExampleRng::new(seed)).unwrap()
}

#[test]
fn shadow_and_htpasswd_hashes_are_low_severity_with_password_advice() {
    let dir = tempfile::tempdir().unwrap();
    let shadow = format!(
        "root:$6${}${}:19000:0:99999:7:::\nbob:$y$j9T${}${}:19500:0:99999:7:::\n",
        fake("@{rand:alnum:16}", 1),
        fake("@{rand:alnum:86}", 2),
        fake("@{rand:alnum:22}", 3),
        fake("@{rand:alnum:43}", 4),
    );
    write(dir.path(), "image/etc/shadow", shadow);
    let htpasswd = format!(
        "admin:$apr1${}${}\nops:$2y$05${}\n",
        fake("@{rand:alnum:8}", 5),
        fake("@{rand:alnum:22}", 6),
        fake("@{rand:alnum:53}", 7),
    );
    write(dir.path(), "web/.htpasswd", htpasswd);
    let out = scan_json(dir.path());
    let mut rules: Vec<String> = findings(&out)
        .iter()
        .map(|f| {
            assert_eq!(f["severity"], "low", "{f}");
            let remediation = &f["remediation"];
            assert!(remediation.get("revoke_url").is_none(), "{f}");
            let summary = remediation["summary"].as_str().unwrap();
            assert!(summary.starts_with("Replace this "), "{summary}");
            assert!(summary.ends_with(" (low severity)"), "{summary}");
            let steps = remediation["steps"].to_string();
            assert!(steps.contains("as exposed"), "{steps}");
            assert!(!steps.contains("test-mode"), "{steps}");
            f["rule"].as_str().unwrap().to_string()
        })
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "bcrypt-password-hash",
            "md5-crypt-password-hash",
            "sha-crypt-password-hash",
            "yescrypt-password-hash",
        ]
    );
}

#[test]
fn hash_syntax_without_a_hash_is_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs/passwords.md",
        "Hashes look like $6$salt$hash or $2b$12$<salt><hash>; locked accounts use root:!:19000::\n\
         s/(foo)(bar)/$1$2/g\n",
    );
    assert_eq!(
        findings(&scan_json(dir.path())),
        Vec::<serde_json::Value>::new()
    );
}
