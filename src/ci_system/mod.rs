//! The CI systems `keyhound ci` runs in, one entry each, with its tests beside it: the
//! variable that says a job runs there, which of its variables name the commits the run
//! brings, where it checks the repository out, what to set when the clone lacks the history a
//! scan needs, and where the findings go (SARIF and annotations for GitHub, the
//! secret-detection report for GitLab, the job log elsewhere).
//!
//! A system that names no range for some kind of run (an Azure or Bitbucket branch build)
//! is an error naming the variable that would, never a guess: a guessed range could leave
//! out the commit that holds the secret and pass.

mod azure;
mod bitbucket;
mod github;
mod gitlab;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::cli::{CiArgs, CiSystemArg, FormatArg};
use crate::github_event::ScanPlan;

/// The CI job's environment; only non-empty values count as set.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    /// The environment `lookup` reads (the process's, or a test's).
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Env<'a> {
        Env { lookup }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or an error saying the run needs it.
    fn need(&self, name: &str, why: &str) -> Result<String> {
        self.get(name)
            .with_context(|| format!("{name} is not set: {why}"))
    }
}

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One run, as its CI system describes it.
#[derive(Debug)]
pub struct Pipeline {
    /// What started the run, in words: `push`, `pull_request`, `merge request !7`.
    pub event: String,
    pub plan: ScanPlan,
    /// The repository's default branch, when the system names it: a new branch is judged by
    /// its policy.
    pub default_branch: Option<String>,
    /// How the notice names the change judged: `this pull request`, `this push`.
    pub change: &'static str,
    /// The variables that named revisions of the plan, so that a missing one is named too.
    pub named_by: Vec<(String, &'static str)>,
    /// What to set to get the history the scan needs.
    pub fetch_advice: String,
}

/// Where a system's findings go by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// The report on standard output unless `--format` says otherwise.
    pub format: FormatArg,
    /// The SARIF file written unless `--sarif-file` says otherwise.
    pub sarif_file: Option<&'static str>,
    /// GitLab's report file written unless `--gitlab-report` says otherwise.
    pub gitlab_report: Option<&'static str>,
    /// Whether the `findings` and `sarif-file` step outputs are written ($GITHUB_OUTPUT).
    pub step_outputs: bool,
}

/// One CI system.
#[derive(Debug)]
pub struct System {
    pub id: CiSystemArg,
    /// Its name, for messages.
    pub name: &'static str,
    /// The variable whose presence says a job runs here.
    pub detect: &'static str,
    /// The variable naming the checkout to scan.
    pub workspace: &'static str,
    pub outputs: Outputs,
    /// Reads the run from the environment (and, for GitHub, the event flags).
    pub pipeline: fn(&Env, &CiArgs) -> Result<Pipeline>,
}

/// Every system `keyhound ci` knows, in the order detection tries them.
pub const SYSTEMS: [System; 4] = [
    System {
        id: CiSystemArg::Github,
        name: "GitHub Actions",
        detect: "GITHUB_ACTIONS",
        workspace: "GITHUB_WORKSPACE",
        outputs: Outputs {
            format: FormatArg::Github,
            sarif_file: Some("keyhound.sarif"),
            gitlab_report: None,
            step_outputs: true,
        },
        pipeline: github::pipeline,
    },
    System {
        id: CiSystemArg::Gitlab,
        name: "GitLab CI",
        detect: "GITLAB_CI",
        workspace: "CI_PROJECT_DIR",
        outputs: Outputs {
            format: FormatArg::Human,
            sarif_file: None,
            gitlab_report: Some("gl-secret-detection-report.json"),
            step_outputs: false,
        },
        pipeline: gitlab::pipeline,
    },
    System {
        id: CiSystemArg::Azure,
        name: "Azure Pipelines",
        detect: "TF_BUILD",
        workspace: "BUILD_SOURCESDIRECTORY",
        outputs: LOG_ONLY,
        pipeline: azure::pipeline,
    },
    System {
        id: CiSystemArg::Bitbucket,
        name: "Bitbucket Pipelines",
        detect: "BITBUCKET_BUILD_NUMBER",
        workspace: "BITBUCKET_CLONE_DIR",
        outputs: LOG_ONLY,
        pipeline: bitbucket::pipeline,
    },
];

/// Findings in the job log only (a SARIF or GitLab file when asked for).
const LOG_ONLY: Outputs = Outputs {
    format: FormatArg::Human,
    sarif_file: None,
    gitlab_report: None,
    step_outputs: false,
};

/// The system `--ci-system` names, else the first whose variable is set; GitHub also when the
/// event flags (or their variables) are given.
pub fn detect(env: &Env, args: &CiArgs) -> Result<&'static System> {
    let github_event = args.event_name.is_some() || args.event_path.is_some();
    if github_event && args.ci_system.is_some_and(|id| id != CiSystemArg::Github) {
        bail!(
            "--event-name and --event-path (or GITHUB_EVENT_NAME and GITHUB_EVENT_PATH) describe \
             a GitHub Actions event, and --ci-system names another system: drop one"
        );
    }
    let chosen = match args.ci_system {
        Some(id) => SYSTEMS.iter().find(|s| s.id == id),
        None if github_event => SYSTEMS.iter().find(|s| s.id == CiSystemArg::Github),
        None => SYSTEMS.iter().find(|s| env.get(s.detect).is_some()),
    };
    if let Some(system) = chosen {
        return Ok(system);
    }
    let vars: Vec<&str> = SYSTEMS.iter().map(|s| s.detect).collect();
    bail!(
        "no CI system detected (GITHUB_EVENT_NAME is not set, nor any of {}): pass \
         --ci-system NAME; outside CI, --event-name NAME and --event-path FILE stand in for a \
         GitHub Actions event, or use `keyhound git --range BASE..HEAD`",
        vars.join(", ")
    )
}

/// The checkout to scan: the system's workspace variable, else the current directory.
pub fn workspace(env: &Env, system: &System) -> PathBuf {
    env.get(system.workspace)
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// The remote-tracking ref of branch `name` (`main`, or `refs/heads/main` as Azure Repos
/// spells it).
fn remote_branch(name: &str) -> String {
    let name = name.strip_prefix("refs/heads/").unwrap_or(name);
    format!("refs/remotes/origin/{name}")
}

/// What the systems' unit tests share: arguments and a fake environment.
#[cfg(test)]
mod testing {
    use super::*;
    use clap::Parser;

    pub const A: &str = "1111111111111111111111111111111111111111";
    pub const B: &str = "2222222222222222222222222222222222222222";

    /// `keyhound ci` arguments, without the event flags (clap would fill them from the
    /// process environment's GITHUB_EVENT_NAME and GITHUB_EVENT_PATH).
    pub fn args(extra: &[&str]) -> CiArgs {
        let cli = crate::cli::Cli::try_parse_from(["keyhound", "ci"].iter().chain(extra)).unwrap();
        match cli.command {
            crate::cli::Command::Ci(mut args) => {
                args.event_name = None;
                args.event_path = None;
                args
            }
            _ => unreachable!(),
        }
    }

    pub fn run(system: CiSystemArg, vars: &[(&str, &str)]) -> Result<Pipeline> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        let env = Env::new(&lookup);
        let system = SYSTEMS.iter().find(|s| s.id == system).unwrap();
        (system.pipeline)(&env, &args(&[]))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::args;
    use super::*;

    #[test]
    fn detection_follows_each_systems_variable_and_the_flag_overrides_it() {
        let vars = [("GITLAB_CI", "true"), ("TF_BUILD", "True")];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        let env = Env::new(&lookup);
        assert_eq!(detect(&env, &args(&[])).unwrap().id, CiSystemArg::Gitlab);
        let chosen = detect(&env, &args(&["--ci-system", "azure"])).unwrap();
        assert_eq!(chosen.id, CiSystemArg::Azure);
        let mut github_flags = args(&["--ci-system", "gitlab"]);
        github_flags.event_name = Some("push".into());
        let err = detect(&env, &github_flags).unwrap_err().to_string();
        assert!(err.contains("--ci-system names another system"), "{err}");
        let none = |_: &str| None;
        let err = detect(&Env::new(&none), &args(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GITLAB_CI") && err.contains("--ci-system"),
            "{err}"
        );
    }
}
