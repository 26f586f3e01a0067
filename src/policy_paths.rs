//! Reported paths and the paths a config judges. `keyhound dir` reports a path as the user
//! would open it from where they stand (`src/billing.py` for `keyhound dir src`, as ripgrep
//! prints it), while the config's path globs, `.keyhoundignore` and `.gitleaksignore` name
//! files relative to the config's own directory (the work tree's root). This maps one to the
//! other: each scanned operand, as reported, to where it sits below the config's directory.

use std::borrow::Cow;

/// The operands of a scan, each as its paths are reported and as the config sees it.
#[derive(Debug, Clone, Default)]
pub struct PolicyPaths {
    /// (operand as reported, `/`-separated, "" for the current directory; the same operand
    /// relative to the config's directory, "" for that directory itself).
    operands: Vec<(String, String)>,
}

impl PolicyPaths {
    /// Records that paths reported under `shown` are `below_config` in the config's terms.
    pub fn add(&mut self, shown: &str, below_config: &str) {
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        self.operands.push((trim(shown), trim(below_config)));
    }

    /// `path` (as reported) as the config's globs and ignore files see it. A path under no
    /// recorded operand is judged as reported.
    pub fn policy_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        let rest_of = |shown: &str| -> Option<&'p str> {
            if shown.is_empty() {
                return (!path.starts_with('/')).then_some(path);
            }
            match path.strip_prefix(shown)? {
                "" => Some(""),
                rest => rest.strip_prefix('/'),
            }
        };
        let best = self
            .operands
            .iter()
            .filter_map(|(shown, below)| rest_of(shown).map(|rest| (shown.len(), below, rest)))
            .max_by_key(|(len, _, _)| *len);
        match best {
            None => Cow::Borrowed(path),
            Some((_, below, rest)) if below.is_empty() => Cow::Borrowed(rest),
            Some((_, below, "")) => Cow::Owned(below.clone()),
            Some((_, below, rest)) => Cow::Owned(format!("{below}/{rest}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(operands: &[(&str, &str)]) -> PolicyPaths {
        let mut p = PolicyPaths::default();
        for (shown, below) in operands {
            p.add(shown, below);
        }
        p
    }

    #[test]
    fn an_operand_below_the_config_keeps_its_place() {
        // `keyhound dir src` at the work tree's root: reported and judged alike.
        let p = paths(&[("src", "src")]);
        assert_eq!(p.policy_path("src/billing.py"), "src/billing.py");
        // `keyhound dir /abs/repo/src/` from elsewhere.
        let p = paths(&[("/abs/repo/src/", "src")]);
        assert_eq!(p.policy_path("/abs/repo/src/a/b.py"), "src/a/b.py");
        // `keyhound dir .` from `repo/sub`.
        let p = paths(&[("", "sub")]);
        assert_eq!(p.policy_path("b.py"), "sub/b.py");
    }

    #[test]
    fn an_operand_that_is_the_config_directory_drops_its_name() {
        // `keyhound dir other/project` outside any work tree, config in other/project.
        let p = paths(&[("other/project", "")]);
        assert_eq!(p.policy_path("other/project/tests/k.py"), "tests/k.py");
        // A file operand maps to its own path below the config.
        let p = paths(&[("src/billing.py", "src/billing.py")]);
        assert_eq!(p.policy_path("src/billing.py"), "src/billing.py");
    }

    #[test]
    fn names_that_only_share_a_prefix_are_not_under_the_operand() {
        let p = paths(&[("src", "lib")]);
        assert_eq!(p.policy_path("srcx/a.py"), "srcx/a.py");
        assert_eq!(p.policy_path("/elsewhere/a.py"), "/elsewhere/a.py");
        // The longest operand wins.
        let p = paths(&[("", "top"), ("vendor", "v")]);
        assert_eq!(p.policy_path("vendor/a.js"), "v/a.js");
        assert_eq!(p.policy_path("a.js"), "top/a.js");
    }
}
