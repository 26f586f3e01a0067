//! The report fixture: a small tree of files holding fake Stripe keys, generated at test time
//! from a fixed seed (so goldens are stable and no live-looking token is ever committed), with
//! its own rule file so the goldens do not move when the embedded rule pack changes.

#![allow(dead_code)] // Each test crate uses a different part of this module.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use keyhound::rules::templates::ExampleRng;
use sha2::{Digest, Sha256};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The rules the fixture is scanned with (`[rules] use_default = false`): Stripe's formats,
/// written here rather than taken from the pack so that rule wording changes elsewhere do not
/// rewrite these goldens.
pub const FIXTURE_RULES: &str = r#"
[rules]
use_default = false

[[rule]]
id = "stripe-live-secret-key"
name = "Stripe live secret key"
provider = "Stripe"
description = "Secret API key for live mode (sk_live_ + base62); grants full API access to the account. Format: Stripe docs, API keys."
keywords = ["sk_live_"]
regex = '\b(?P<secret>sk_live_[0-9A-Za-z]{24,247})\b'
min_entropy_bits = 120
severity = "critical"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/apikeys"
rotation = ["In the Stripe dashboard choose \"Roll key…\" and set the old key to expire when the new one is deployed (at once if it leaked)."]

[[rule]]
id = "stripe-live-restricted-key"
name = "Stripe live restricted key"
provider = "Stripe"
description = "Restricted API key for live mode (rk_live_ + base62). Format: Stripe docs, API keys."
keywords = ["rk_live_"]
regex = '\b(?P<secret>rk_live_[0-9A-Za-z]{24,247})\b'
min_entropy_bits = 120
severity = "critical"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/apikeys"
rotation = ["Roll the restricted key in Developers > API keys."]

[[rule]]
id = "stripe-webhook-signing-secret"
name = "Stripe webhook signing secret"
provider = "Stripe"
description = "Endpoint signing secret (whsec_ + random): with it anyone can forge webhook events. Format: Stripe docs, webhooks."
keywords = ["whsec_"]
regex = '\b(?P<secret>whsec_[0-9A-Za-z]{32,128})\b'
min_entropy_bits = 120
severity = "high"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/webhooks"
rotation = ["Open the endpoint in Developers > Webhooks and choose \"Roll secret\"."]

[[rule]]
id = "stripe-test-secret-key"
name = "Stripe test-mode secret key"
provider = "Stripe"
description = "Secret API key for test mode (sk_test_ + base62). Format: Stripe docs, API keys."
keywords = ["sk_test_"]
regex = '\b(?P<secret>sk_test_[0-9A-Za-z]{24,247})\b'
min_entropy_bits = 120
severity = "low"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/test/apikeys"
rotation = ["Roll the test key under Developers > API keys with test mode on."]

[[rule]]
id = "stripe-test-restricted-key"
name = "Stripe test-mode restricted key"
provider = "Stripe"
description = "Restricted API key for test mode (rk_test_ + base62). Format: Stripe docs, API keys."
keywords = ["rk_test_"]
regex = '\b(?P<secret>rk_test_[0-9A-Za-z]{24,247})\b'
min_entropy_bits = 120
severity = "low"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/test/apikeys"
rotation = ["Roll or delete the restricted key with test mode on."]
"#;

/// The fake keys in the fixture, by role.
pub struct Keys {
    pub live: String,
    pub live_other: String,
    pub restricted_live: String,
    pub webhook: String,
    pub test: String,
    pub restricted_test: String,
}

impl Keys {
    /// Every key, for no-leak assertions.
    pub fn all(&self) -> Vec<&str> {
        vec![
            &self.live,
            &self.live_other,
            &self.restricted_live,
            &self.webhook,
            &self.test,
            &self.restricted_test,
        ]
    }
}

/// A generated fixture: `dir/reports` is the tree, `dir/rules.toml` its rules.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub keys: Keys,
}

impl Fixture {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("rules.toml")
    }

    /// `keyhound <args> --config rules.toml`, run from the fixture's directory so reported
    /// paths and the target read the same on every machine.
    pub fn keyhound(&self, args: &[&str]) -> Command {
        let mut cmd = keyhound();
        cmd.current_dir(self.root())
            .args(args)
            .arg("--config")
            .arg(self.config());
        cmd
    }
}

/// Fake Stripe-shaped key: `kind` + `_` + base62 from `rng`. The prefix is assembled at run time
/// so this file holds no token-shaped literal.
pub fn fake_key(kind: &str, rng: &mut ExampleRng, len: usize) -> String {
    format!("{kind}_{}", rng.string(BASE62, len))
}

/// Builds the fixture tree (`fixtures/reports` in spirit, generated into a temp dir).
pub fn fixture() -> Fixture {
    let mut rng = ExampleRng::new(0x0072_6570_6f72_7473);
    let keys = Keys {
        live: fake_key(&["sk", "live"].join("_"), &mut rng, 28),
        live_other: fake_key(&["sk", "live"].join("_"), &mut rng, 24),
        restricted_live: fake_key(&["rk", "live"].join("_"), &mut rng, 32),
        webhook: fake_key("whsec", &mut rng, 32),
        test: fake_key(&["sk", "test"].join("_"), &mut rng, 24),
        restricted_test: fake_key(&["rk", "test"].join("_"), &mut rng, 24),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("rules.toml"), FIXTURE_RULES).unwrap();
    let root = dir.path().join("reports");
    let k = &keys;
    write(
        &root,
        "services/billing/.env",
        format!(
            "# billing service\nDEBUG=1\nSTRIPE_SECRET_KEY={}\nSTRIPE_WEBHOOK_SECRET={}\n",
            k.live, k.webhook
        ),
    );
    write(
        &root,
        "services/billing/settings.py",
        format!(
            "import os\n\nSTRIPE_KEY = \"{}\"  # copied from .env\nTEST_KEY = os.environ.get(\"TEST_KEY\", \"{}\")\n",
            k.live, k.test
        ),
    );
    write(
        &root,
        "web/checkout.js",
        format!(
            "// Checkout page\nconst keys = {{ test: \"{}\", live: \"{}\" }}; // TODO move these to the server before launch, see ticket 1234\n",
            k.restricted_test, k.restricted_live
        ),
    );
    write(
        &root,
        "ops/run book, v2.md",
        format!(
            "# Runbook: 100% of payments\n\nFallback key: `{}`\n",
            k.live_other
        ),
    );
    write(
        &root,
        "docs/README.md",
        "Payments are handled by Stripe; keys live in the secret manager.\n",
    );
    Fixture { dir, keys }
}

pub fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// The binary, with the environment that would change its output removed.
pub fn keyhound() -> Command {
    let mut cmd = Command::cargo_bin("keyhound").unwrap();
    cmd.env_remove("NO_COLOR")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("TERM");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Fails if any of `secrets` appears in `text` (named `what` in the message).
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a raw secret appears in {what}:\n{text}"
        );
    }
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
