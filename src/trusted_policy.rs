//! Where a scan of commits takes its policy (config and ignore files) from, and the trust
//! model behind it. `keyhound git` is run by a person over their own checkout and reads its
//! work tree. `keyhound ci` and `keyhound pre-push` judge commits someone proposes (a pull
//! request from a fork, a push): if those commits brought the rules they are judged by, a
//! `paths = ["**"]` or the finding's fingerprint in `.keyhoundignore` would silence the check.
//! So they read config and ignore files from the base commit's tree (the target branch, what
//! the remote already has), never from the head or its work tree; only regular files count (a
//! symlink or submodule entry by that name is ignored with a note) and a file over 4 MiB is
//! refused. `--config` and `--baseline` given on the command line are trusted as given. When
//! the head changes those files, the change is announced with the number of reported
//! findings its policy would hide; it is never applied.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::app;
use crate::baseline::{self, Suppressions};
use crate::cli::CommonArgs;
use crate::config::{self, Policy, CONFIG_NAMES};
use crate::diag;
use crate::finding::Finding;
use crate::gitleaks;
use crate::policy_file::{self, Origin, MAX_POLICY_FILE};
use crate::source::git::{GitRepo, RootFile};

/// Where the policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The repository's work tree: a person's own checkout (`keyhound git`), or a first push
    /// that has no base to trust.
    WorkTree,
    /// The work tree, for recording a new baseline (`keyhound baseline git`): the baseline
    /// the config names is not applied, or regenerating it would drop what it holds.
    WorkTreeRecording,
    /// The tree of this commit: the base the scanned commits are judged against.
    Commit(String),
    /// No file from the repository: the embedded defaults and the command line.
    Defaults,
}

/// The rules, allowlists and known findings a scan is judged by.
pub struct ScanPolicy {
    pub policy: Policy,
    pub known: Suppressions,
}

/// Loads the policy from `source` (see the module documentation).
pub fn load(common: &CommonArgs, repo: &GitRepo, source: &PolicySource) -> Result<ScanPolicy> {
    let files = match source {
        PolicySource::WorkTree | PolicySource::WorkTreeRecording => {
            let root = repo.workdir().unwrap_or(repo.git_dir());
            let policy = app::load_policy(common, root)?;
            let recording = *source == PolicySource::WorkTreeRecording;
            let known = app::load_known(common, root, &policy, recording)?;
            return Ok(ScanPolicy { policy, known });
        }
        PolicySource::Commit(rev) => TreeFiles::read(repo, rev)?,
        PolicySource::Defaults => TreeFiles::default(),
    };
    if common.notes_wanted() {
        for note in files.notes() {
            diag::note(note);
        }
    }
    let policy = match common.config {
        Some(_) => app::load_policy(common, Path::new("."))?,
        None => {
            let policy = files.config()?;
            if common.notes_wanted() {
                for note in &policy.notes {
                    diag::note(note);
                }
            }
            policy
        }
    };
    let mut known = files.suppressions(common.baseline.as_deref())?;
    if let (None, Some(relative)) = (&common.baseline, &policy.baseline) {
        match &common.config {
            // Beside the config the user named, as that config is trusted.
            Some(config) => {
                let path = config.parent().unwrap_or(Path::new(".")).join(relative);
                known.add_baseline(&policy_file::read_named(&path)?, &path)?;
            }
            None => files.add_baseline(repo, relative, &mut known)?,
        }
    }
    Ok(ScanPolicy { policy, known })
}

/// The policy of a scan of several repositories (or of a clone): `--config` (else the
/// embedded pack) and `--baseline`, and nothing from any repository, so that every repository
/// is judged by the same rules and none can silence its own findings.
pub fn load_common(common: &CommonArgs) -> Result<ScanPolicy> {
    let policy = match &common.config {
        Some(_) => app::load_policy(common, Path::new("."))?,
        None => {
            if let Some(output) = &common.output {
                crate::output_file::check_target(output)?;
            }
            config::defaults()?
        }
    };
    let mut known = Suppressions::from_texts(common.baseline.as_deref(), None, None)?;
    if let (None, Some(relative), Some(config)) =
        (&common.baseline, &policy.baseline, &common.config)
    {
        let path = config.parent().unwrap_or(Path::new(".")).join(relative);
        known.add_baseline(&policy_file::read_named(&path)?, &path)?;
    }
    Ok(ScanPolicy { policy, known })
}

/// Config file names in lookup order.
fn config_names() -> impl Iterator<Item = &'static str> {
    CONFIG_NAMES.iter().copied().chain([gitleaks::CONFIG_NAME])
}

/// Every policy file name: configs, then ignore files.
fn policy_names() -> impl Iterator<Item = &'static str> {
    config_names().chain([baseline::IGNORE_NAME, gitleaks::IGNORE_NAME])
}

/// The config and ignore files at the top of one commit's tree (none for the defaults).
#[derive(Default)]
struct TreeFiles {
    /// The commit, abbreviated, to name where a file came from.
    commit: String,
    /// The commit's full id (empty for the defaults, which have no tree).
    id: String,
    files: Vec<(&'static str, RootFile)>,
}

impl TreeFiles {
    fn read(repo: &GitRepo, rev: &str) -> Result<TreeFiles> {
        let commit = repo.resolve_commit(rev).unwrap_or_else(|| rev.to_string());
        let files = policy_names()
            .map(|name| Ok((name, repo.tree_file(&commit, name, MAX_POLICY_FILE)?)))
            .collect::<Result<_>>()?;
        Ok(TreeFiles {
            commit: commit.get(..7).unwrap_or(&commit).to_string(),
            id: commit,
            files,
        })
    }

    fn get(&self, name: &str) -> &RootFile {
        self.files
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&RootFile::Absent, |(_, file)| file)
    }

    /// `name` as shown in messages: git's `commit:path`.
    fn shown(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}:{name}", self.commit))
    }

    /// The text of `name` when it is a regular file.
    fn text(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            RootFile::Regular(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(Some(text)),
                Err(_) => bail!("{} is not UTF-8 text", self.shown(name).display()),
            },
            RootFile::Absent | RootFile::NotRegular(_) => Ok(None),
        }
    }

    /// Entries by a policy file's name that are not regular files, and so are ignored.
    fn notes(&self) -> Vec<String> {
        self.files
            .iter()
            .filter_map(|(name, file)| match file {
                RootFile::NotRegular(what) => Some(format!(
                    "{} is {what}, not a regular file: ignored",
                    self.shown(name).display()
                )),
                _ => None,
            })
            .collect()
    }

    /// The first config file present, compiled; the defaults when there is none.
    fn config(&self) -> Result<Policy> {
        for name in config_names() {
            if let Some(text) = self.text(name)? {
                if extends_by_path(text) {
                    // The path would be read from disk, the checkout of the commits judged.
                    bail!(
                        "{}: a gitleaks `[extend] path` is not followed in a config read from a \
                         commit; pass the whole config with --config",
                        self.shown(name).display()
                    );
                }
                return Ok(config::from_text(text, &self.shown(name), Origin::Tree)?);
            }
        }
        Ok(config::defaults()?)
    }

    /// Adds the baseline the commit's config names (a regular file of its tree) to `known`.
    fn add_baseline(
        &self,
        repo: &GitRepo,
        relative: &Path,
        known: &mut Suppressions,
    ) -> Result<()> {
        let name = relative.to_string_lossy();
        let shown = self.shown(&name);
        match repo.tree_file(&self.id, &name, MAX_POLICY_FILE)? {
            RootFile::Regular(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", shown.display()))?;
                known.add_baseline(&text, &shown)?;
            }
            RootFile::NotRegular(what) => known.notes.push(format!(
                "{} is {what}, not a regular file: ignored",
                shown.display()
            )),
            RootFile::Absent => bail!(
                "the config's baseline {} does not exist in that commit",
                shown.display()
            ),
        }
        Ok(())
    }

    /// The ignore files' suppressions, and `baseline`'s (a file named on the command line).
    fn suppressions(&self, baseline: Option<&Path>) -> Result<Suppressions> {
        let (keyhound, gitleaks) = (
            self.shown(baseline::IGNORE_NAME),
            self.shown(gitleaks::IGNORE_NAME),
        );
        Ok(Suppressions::from_texts(
            baseline,
            self.text(baseline::IGNORE_NAME)?
                .map(|t| (t, keyhound.as_path())),
            self.text(gitleaks::IGNORE_NAME)?
                .map(|t| (t, gitleaks.as_path())),
        )?)
    }
}

/// Whether `text` is a gitleaks config that extends another by path (keys in any case, as
/// gitleaks reads them).
fn extends_by_path(text: &str) -> bool {
    let is = |key: &str, name: &str| key.eq_ignore_ascii_case(name);
    toml::from_str::<toml::Table>(text).is_ok_and(|table| {
        table.iter().any(|(key, value)| {
            is(key, "extend")
                && value
                    .as_table()
                    .is_some_and(|extend| extend.keys().any(|k| is(k, "path")))
        })
    })
}

/// A head whose config or ignore files differ from the base's: which files, and the policy
/// they would make (each part `None` when it does not compile).
pub struct PolicyChange {
    files: Vec<&'static str>,
    config: Option<Policy>,
    ignores: Option<Suppressions>,
    /// Whether some head file could not be read or compiled, so what it hides is not counted.
    unusable: bool,
}

/// Compares the policy files of commit `head` with those `base` trusts; `None` when they are
/// the same (or the base is the work tree, which has no commit to compare). With `--config`,
/// config files do not count: the flag decides the config.
pub fn change(
    common: &CommonArgs,
    repo: &GitRepo,
    base: &PolicySource,
    head: &str,
) -> Result<Option<PolicyChange>> {
    let base = match base {
        PolicySource::WorkTree | PolicySource::WorkTreeRecording => return Ok(None),
        PolicySource::Commit(rev) => TreeFiles::read(repo, rev)?,
        PolicySource::Defaults => TreeFiles::default(),
    };
    let head = match TreeFiles::read(repo, head) {
        Ok(files) => files,
        Err(_) => {
            return Ok(Some(PolicyChange {
                files: Vec::new(),
                config: None,
                ignores: None,
                unusable: true,
            }))
        }
    };
    let files: Vec<&'static str> = policy_names()
        .filter(|name| common.config.is_none() || !config_names().any(|c| c == *name))
        .filter(|name| base.get(name) != head.get(name))
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    // The head's errors are not shown: they could quote what its files hold.
    let config = match &common.config {
        Some(_) => None,
        None => head.config().ok(),
    };
    let ignores = head.suppressions(None).ok();
    let unusable = (common.config.is_none() && config.is_none()) || ignores.is_none();
    Ok(Some(PolicyChange {
        files,
        config,
        ignores,
        unusable,
    }))
}

impl PolicyChange {
    /// How many of `findings` (reported under the base's policy) the head's would hide: by
    /// its ignore files, its path or commit allowlists, or rules it disables.
    pub fn hidden(&self, findings: &[Finding]) -> usize {
        findings.iter().filter(|f| self.hides(f)).count()
    }

    fn hides(&self, f: &Finding) -> bool {
        let ignored = self
            .ignores
            .as_ref()
            .is_some_and(|known| known.hides(f, &f.location.path));
        let allowed = self.config.as_ref().is_some_and(|policy| {
            policy.pack.get(&f.rule).is_none()
                || policy.allowlist.allows_path(&f.location.path)
                || f.commit
                    .as_ref()
                    .is_some_and(|c| policy.allowlist.allows_commit(&f.rule, &c.id))
        });
        ignored || allowed
    }

    /// The notice: `change` names what changes it (`this pull request`, `this push`).
    /// Only fixed file names and counts: nothing from the files themselves.
    pub fn notice(&self, change: &str, findings: &[Finding]) -> String {
        let files = if self.files.is_empty() {
            "its config or ignore files".to_string()
        } else {
            self.files.join(", ")
        };
        let mut notice = format!(
            "{change} changes keyhound's allowlist ({files}): {} finding(s) it would hide are \
             reported; config and ignore files are read from the base commit, not from the \
             changes being checked",
            self.hidden(findings)
        );
        if self.unusable {
            notice.push_str(
                "; some of its files could not be read or compiled, so what they would hide is \
                 not all counted",
            );
        }
        notice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gitleaks_extend_by_path_is_recognised_in_any_case() {
        assert!(extends_by_path("[extend]\npath = \"base.toml\"\n"));
        assert!(extends_by_path("[Extend]\nPath = \"base.toml\"\n"));
        assert!(!extends_by_path("[extend]\nuseDefault = true\n"));
        assert!(!extends_by_path("[allowlist]\npaths = [\"x\"]\n"));
        assert!(!extends_by_path("not toml ["));
    }
}
