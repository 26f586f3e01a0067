//! Where a finding lives, judged from its path: product source, tests, documentation, examples,
//! vendored or generated code. A key in `tests/fixtures/` is still a key (never hidden by
//! default), but it is rarely the one to rotate tonight: findings in tests, examples, docs and
//! vendored code are reported one severity step lower, and say why. One table, each kind with
//! the path parts and file names that mark it, and its examples checked by `cargo test`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::Severity;

/// Where a finding lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathContext {
    #[default]
    Source,
    Test,
    Docs,
    Example,
    Vendored,
    Generated,
}

/// One kind of place: the directory names that mark it (compared case-insensitively, whole
/// components only), and file-name tests.
struct Marks {
    context: PathContext,
    dirs: &'static [&'static str],
    /// Suffixes of the file name (lower-cased), e.g. `_test.go`.
    suffixes: &'static [&'static str],
    /// Suffixes of the file name as written, for CamelCase names (`AuthTest.java`, not
    /// `Latest.java`).
    camel_suffixes: &'static [&'static str],
    /// Prefixes of the file name (lower-cased), e.g. `test_` for `test_api.py`.
    prefixes: &'static [&'static str],
    /// Parts of the file name between dots (lower-cased), e.g. `example` in `.env.example`.
    name_parts: &'static [&'static str],
}

/// The kinds in the order they win: a test under `vendor/` is vendored code; an example in
/// `docs/examples/` is an example.
const TABLE: [Marks; 5] = [
    Marks {
        context: PathContext::Vendored,
        dirs: &[
            "vendor",
            "vendored",
            "third_party",
            "third-party",
            "thirdparty",
            "node_modules",
            "bower_components",
            "site-packages",
            "pods",
        ],
        suffixes: &[],
        camel_suffixes: &[],
        prefixes: &[],
        name_parts: &[],
    },
    Marks {
        context: PathContext::Generated,
        dirs: &["dist", "generated", "__generated__"],
        suffixes: &[
            ".min.js",
            ".min.css",
            ".bundle.js",
            ".js.map",
            ".pb.go",
            "_pb2.py",
            ".g.dart",
        ],
        camel_suffixes: &[],
        prefixes: &[],
        name_parts: &["generated"],
    },
    Marks {
        context: PathContext::Test,
        dirs: &[
            "test",
            "tests",
            "testing",
            "testdata",
            "test-data",
            "test_data",
            "__tests__",
            "spec",
            "specs",
            "fixture",
            "fixtures",
            "__fixtures__",
            "__mocks__",
            "mocks",
            "selftest",
            "selftests",
            "unittests",
            "e2e",
            "fuzz",
            "fuzzing",
        ],
        suffixes: &[
            "_test.go",
            "_test.py",
            "_test.rb",
            "_spec.rb",
            "_test.c",
            "_test.cc",
            "_test.cpp",
        ],
        camel_suffixes: &[
            "Test.java",
            "Tests.java",
            "IT.java",
            "Test.kt",
            "Tests.kt",
            "Test.cs",
            "Tests.cs",
        ],
        prefixes: &["test_", "conftest.py"],
        name_parts: &["test", "spec"],
    },
    Marks {
        context: PathContext::Example,
        dirs: &["example", "examples", "sample", "samples", "demo", "demos"],
        suffixes: &[],
        camel_suffixes: &[],
        prefixes: &[],
        name_parts: &["example", "sample", "dist", "template", "tmpl"],
    },
    Marks {
        context: PathContext::Docs,
        dirs: &["doc", "docs", "documentation", "man"],
        suffixes: &[".md", ".markdown", ".rst", ".adoc", ".pod", ".rdoc"],
        camel_suffixes: &[],
        // Release notes and change logs are prose (`NEWS`, `ChangeLog`, `CHANGES.txt`).
        prefixes: &["news", "changelog", "changes", "history"],
        name_parts: &[],
    },
];

impl PathContext {
    /// The context of `path` (`/`-separated, as the config sees it: relative to the scanned
    /// tree or repository, so that directories above it do not count).
    pub fn of(path: &str) -> PathContext {
        let written = path.rsplit('/').next().unwrap_or_default();
        let lower = path.to_ascii_lowercase();
        let mut parts: Vec<&str> = lower.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.pop().unwrap_or_default();
        let name_parts: Vec<&str> = name.split('.').skip(1).collect();
        TABLE
            .iter()
            .find(|m| {
                parts.iter().any(|dir| m.dirs.contains(dir))
                    || m.suffixes.iter().any(|s| name.ends_with(s))
                    || m.camel_suffixes.iter().any(|s| written.ends_with(s))
                    || m.prefixes.iter().any(|p| name.starts_with(p))
                    || name_parts.iter().any(|p| m.name_parts.contains(p))
            })
            .map_or(PathContext::Source, |m| m.context)
    }

    /// The severity to report for a rule's `severity` here: one step lower in tests, examples,
    /// docs and vendored code (still reported: a real key is often pasted into a test or a
    /// README, and a vendored key may be a dependency's real one, but rarely yours to rotate).
    pub fn adjust(self, severity: Severity) -> Severity {
        match self {
            PathContext::Test
            | PathContext::Example
            | PathContext::Docs
            | PathContext::Vendored => severity.lower(),
            PathContext::Source | PathContext::Generated => severity,
        }
    }

    /// Every context, for parsing and help.
    pub const ALL: [PathContext; 6] = [
        PathContext::Source,
        PathContext::Test,
        PathContext::Docs,
        PathContext::Example,
        PathContext::Vendored,
        PathContext::Generated,
    ];
}

impl fmt::Display for PathContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathContext::Source => "source",
            PathContext::Test => "test",
            PathContext::Docs => "docs",
            PathContext::Example => "example",
            PathContext::Vendored => "vendored",
            PathContext::Generated => "generated",
        })
    }
}

impl std::str::FromStr for PathContext {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        PathContext::ALL
            .into_iter()
            .find(|c| c.to_string() == text.trim())
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a context: source, test, docs, example, vendored, generated"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathContext::*;

    #[test]
    fn each_kind_has_its_examples_and_counter_examples() {
        let cases = [
            ("src/billing.py", Source),
            ("config/prod.pem", Source),
            ("latest/contest.py", Source),
            ("attestation/keys.go", Source),
            ("manifest.json", Source),
            ("src/main/java/Latest.java", Source),
            ("tests/data/key.pem", Test),
            ("pkg/auth/token_test.go", Test),
            ("app/test_settings.py", Test),
            ("web/src/api.spec.ts", Test),
            ("src/test/java/AuthTest.java", Test),
            ("tools/testing/selftests/net/x.sh", Test),
            ("spec/fixtures/files/id_rsa", Test),
            ("docs/setup.md", Docs),
            ("README.md", Docs),
            ("doc/man3/PEM_read.pod", Docs),
            ("NEWS", Docs),
            ("debian/changelog", Docs),
            ("ChangeLog", Docs),
            ("examples/client.c", Example),
            ("docs/examples/usercertinmem.c", Example),
            (".env.example", Example),
            ("config/settings.py.dist", Example),
            ("vendor/github.com/x/y/key.pem", Vendored),
            ("third_party/lib/tests/key.pem", Vendored),
            ("node_modules/pkg/index.js", Vendored),
            ("public/app.min.js", Generated),
            ("dist/main.js", Generated),
            ("api/service.pb.go", Generated),
            ("fuzz/server.c", Test),
        ];
        for (path, want) in cases {
            assert_eq!(PathContext::of(path), want, "{path}");
        }
    }

    #[test]
    fn tests_examples_docs_and_vendored_code_are_one_step_lower() {
        assert_eq!(Test.adjust(Severity::Critical), Severity::High);
        assert_eq!(Docs.adjust(Severity::Low), Severity::Low);
        assert_eq!(Source.adjust(Severity::Critical), Severity::Critical);
        assert_eq!(Vendored.adjust(Severity::High), Severity::Medium);
        assert_eq!(Generated.adjust(Severity::High), Severity::High);
    }

    #[test]
    fn contexts_parse_by_name() {
        assert_eq!("test".parse::<PathContext>(), Ok(Test));
        assert!("tests".parse::<PathContext>().is_err());
    }
}
