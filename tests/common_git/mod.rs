//! Real git for the tests that build repositories: a fixed identity, no signing, `file://`
//! transport allowed, and, when asked for, commit dates one day apart. Also the Stripe rules
//! and made-up Stripe-shaped tokens that the history and CI tests commit.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyhound::rules::templates::ExampleRng;

/// A config with only Stripe's live (critical) and test-mode (low) secret-key rules, so that
/// changes to the embedded pack do not move these tests.
pub const STRIPE_CONFIG: &str = r#"
[rules]
use_default = false

[[rule]]
id = "stripe-live-secret-key"
name = "Stripe live secret key"
provider = "Stripe"
description = "Secret API key for live mode; format per Stripe's API-keys documentation."
keywords = ["sk_live_"]
regex = '''\b(?P<secret>sk_live_[0-9A-Za-z]{24,247})\b'''
min_entropy_bits = 120
severity = "critical"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/apikeys"

[[rule]]
id = "stripe-test-secret-key"
name = "Stripe test-mode secret key"
provider = "Stripe"
description = "Secret API key for test mode."
keywords = ["sk_test_"]
regex = '''\b(?P<secret>sk_test_[0-9A-Za-z]{24,247})\b'''
min_entropy_bits = 120
severity = "low"
confidence = "high"
revoke_url = "https://dashboard.stripe.com/test/apikeys"
"#;

/// Made-up Stripe-shaped tokens, generated so that none sits in the source.
pub struct Tokens(ExampleRng);

impl Tokens {
    pub fn new(seed: u64) -> Tokens {
        Tokens(ExampleRng::new(seed))
    }

    /// `sk_live_…`, which the live rule reports as critical.
    pub fn live(&mut self) -> String {
        self.token("live")
    }

    /// `sk_test_…`, which the test-mode rule reports as low.
    pub fn test(&mut self) -> String {
        self.token("test")
    }

    fn token(&mut self, mode: &str) -> String {
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        format!("{}_{mode}_{}", "sk", self.0.string(BASE62, 32))
    }
}

/// The fingerprint keyhound reports for `secret`.
pub fn fingerprint(secret: &str) -> String {
    keyhound::finding::fingerprint(secret.as_bytes())
}

/// Runs git in a repository, as the tests' one committer.
pub struct Git {
    /// The day of March 2024 the next commit is dated, or `None` for git's own clock.
    day: Option<Cell<u32>>,
}

impl Git {
    /// Commits get git's own dates.
    pub const fn undated() -> Git {
        Git { day: None }
    }

    /// Commits are dated 2024-03-01, 2024-03-02 and so on, so reports can be checked.
    pub fn dated() -> Git {
        Git {
            day: Some(Cell::new(1)),
        }
    }

    /// A bare `origin` in `dir` and a clone of it, `work`, on branch `main`, to push from.
    pub fn origin_and_work(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let origin = dir.join("origin.git");
        fs::create_dir_all(&origin).unwrap();
        self.run(&origin, &["init", "-q", "--bare", "-b", "main"]);
        self.run(dir, &["clone", "-q", &file_url(&origin), "work"]);
        let work = dir.join("work");
        self.run(&work, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        (origin, work)
    }

    /// The day the next commit will be dated, for dated git.
    pub fn next_day(&self) -> Option<u32> {
        self.day.as_ref().map(Cell::get)
    }

    /// The date git was given for the commit made on `day`, as keyhound reports it.
    pub fn date_of_day(day: u32) -> String {
        format!("2024-03-{day:02}T10:20:30+01:00")
    }

    /// Runs git in `repo`; panics on failure, returns its trimmed stdout.
    pub fn run(&self, repo: &Path, args: &[&str]) -> String {
        let out = self.try_run(repo, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Runs git in `repo`, whatever comes of it.
    pub fn try_run(&self, repo: &Path, args: &[&str]) -> Output {
        let mut git = Command::new("git");
        git.current_dir(repo)
            .args([
                "-c",
                "user.name=Alice Example",
                "-c",
                "user.email=alice@example.com",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        if let Some(day) = &self.day {
            let date = format!("2024-03-{:02} 10:20:30 +0100", day.get());
            git.env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date);
        }
        git.output().unwrap()
    }

    /// Writes files (path, content) and commits everything; returns the commit id.
    pub fn commit(&self, repo: &Path, message: &str, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            let path = repo.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        self.run(repo, &["add", "-A"]);
        self.commit_staged(repo, message)
    }

    /// Commits what is staged; returns the commit id.
    pub fn commit_staged(&self, repo: &Path, message: &str) -> String {
        self.run(repo, &["commit", "-q", "--allow-empty", "-m", message]);
        if let Some(day) = &self.day {
            day.set(day.get() + 1);
        }
        self.run(repo, &["rev-parse", "HEAD"])
    }
}

/// `path` as a `file://` URL, for clones that go through git's transport.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}
