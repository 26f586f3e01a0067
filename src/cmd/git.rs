//! `keyhound git` (and `keyhound baseline git`): the history of one repository, or of many in
//! one run (an audit). Rules load once; repositories are scanned one at a time with every core
//! on their blobs, so memory follows the largest repository, while the next clone URL is
//! fetched in the background. A repository that cannot be opened or cloned is an error line and
//! exit code 2, and the scan goes on; one secret found in several repositories is one finding
//! with all its places (see `audit::fold`).
//!
//! One local repository is judged by its own config and ignore files, as a person scanning
//! their checkout expects; several, a `--repos-from` list or a clone, by `--config` (else the
//! embedded rules) and `--baseline` only: an audit applies one policy, and no repository can
//! silence itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{bail, Result};
use rayon::prelude::*;

use crate::app;
use crate::audit::cache::{self, Cache};
use crate::audit::clone::Cloner;
use crate::audit::fold;
use crate::audit::repos::{self, Place, RepoSpec};
use crate::audit::shard::Shard;
use crate::cli::{CommonArgs, GitArgs};
use crate::engine::Engine;
use crate::finding::Finding;
use crate::git_date;
use crate::history::{self, BlobPlan, Judge, RepoScan};
use crate::remediate::Exposure;
use crate::report::ScanReport;
use crate::scan::Summary;
use crate::source::git::{GitRepo, Selection};
use crate::trusted_policy::{self, PolicySource, ScanPolicy};

/// Runs `keyhound git`.
pub fn run(common: &CommonArgs, args: &GitArgs) -> Result<ExitCode> {
    crate::validate::Options::from_common(common)?;
    let mut scan = scan(common, args, false)?;
    crate::validate::apply(
        common,
        scan.engine.pack().rules(),
        &mut scan.findings,
        Exposure::Committed,
    )?;
    scan.summary.findings = scan.findings.len() as u64;
    let report = ScanReport {
        findings: &scan.findings,
        summary: scan.summary,
        elapsed: scan.started.elapsed(),
        target: &scan.target,
        rules: scan.engine.pack().rules(),
        exposure: Exposure::Committed,
    };
    app::emit(common, &report)?;
    Ok(app::exit_code(common, &report))
}

/// Runs `keyhound baseline git`: the scan `keyhound git` runs, written as a baseline.
pub fn record_baseline(common: &CommonArgs, args: &GitArgs) -> Result<ExitCode> {
    app::refuse_baseline_flag(common)?;
    let scan = scan(common, args, true)?;
    app::write_baseline(common, &scan.findings)?;
    Ok(if scan.summary.errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The repositories scanned, folded and filtered.
struct GitScan {
    engine: Engine,
    findings: Vec<Finding>,
    summary: Summary,
    started: Instant,
    target: String,
}

/// A repository ready to open: where it is, and whether it is a clone to delete after.
enum Ready {
    Local(PathBuf),
    Clone(PathBuf),
}

fn scan(common: &CommonArgs, args: &GitArgs, recording: bool) -> Result<GitScan> {
    let started = Instant::now();
    let mut specs: Vec<RepoSpec> = args.repos.iter().map(|p| RepoSpec::from_arg(p)).collect();
    if let Some(list) = &args.repos_from {
        let listed = repos::read_list(list)?;
        if listed.is_empty() {
            // Most likely the command that wrote the list failed: not an audit of nothing.
            bail!(
                "--repos-from {}: the list names no repository",
                list.display()
            );
        }
        specs.extend(listed);
    } else if specs.is_empty() {
        specs.push(RepoSpec::from_arg(Path::new(".")));
    }
    let several = specs.len() > 1 || args.repos_from.is_some() || specs.iter().any(|s| s.is_url());
    if (args.clone_dir.is_some() || args.keep_clones) && !specs.iter().any(|s| s.is_url()) {
        bail!("--clone-dir and --keep-clones are for clone URLs, and no repository given is one");
    }
    let selection = selection(args)?;
    // Several repositories are shared out whole; one alone, blob by blob.
    let (specs, blob_shard) = match args.shard {
        Some(shard) if specs.len() > 1 => (
            specs
                .into_iter()
                .filter(|s| shard.keeps_repo(&s.name))
                .collect(),
            None,
        ),
        shard => (specs, shard),
    };
    let ScanPolicy { policy, known } = match (several, specs.first()) {
        (
            false,
            Some(RepoSpec {
                place: Place::Local(path),
                ..
            }),
        ) => {
            // Errors that make the scan meaningless stop it before any work.
            let repo = GitRepo::open(path)?;
            let source = if recording {
                PolicySource::WorkTreeRecording
            } else {
                PolicySource::WorkTree
            };
            trusted_policy::load(common, &repo, &source)?
        }
        _ => trusted_policy::load_common(common)?,
    };
    let config_text = policy
        .source
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .unwrap_or_default();
    let reporting = app::report_policy(common, &policy, Exposure::Committed);
    let engine = app::engine(common, policy.pack, policy.include_weak);
    let cache = match &args.cache {
        Some(dir) => Some(Cache::open(
            dir,
            detection_key(common, &engine, &config_text),
        )?),
        None => None,
    };
    let cloner = Cloner {
        dir: args
            .clone_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("keyhound-clones")),
        keep: args.keep_clones,
        every_ref: args.all,
    };
    let judge = Judge {
        engine: &engine,
        allowlist: &policy.allowlist,
        reporting,
    };

    let mut findings = Vec::new();
    let mut summary = Summary::default();
    let mut commits = 0;
    let mut failure = None;
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    std::thread::scope(|scope| {
        // The next clone is fetched while the current repository is scanned. A local
        // repository needs no fetching, and no hand-off between threads (a thousand small
        // ones would spend more on the hand-offs than on a cached re-audit).
        let urls: Vec<String> = specs
            .iter()
            .filter_map(|spec| match &spec.place {
                Place::Url(url) => Some(url.clone()),
                Place::Local(_) => None,
            })
            .collect();
        let (send, receive) = mpsc::sync_channel::<Result<PathBuf, String>>(1);
        let cloner = &cloner;
        scope.spawn(move || {
            for url in urls {
                if send
                    .send(cloner.fetch(&url).map_err(|e| e.to_string()))
                    .is_err()
                {
                    break;
                }
            }
        });
        // A re-audit of many local repositories is mostly stamping each one's refs, a few
        // file-system calls apiece: done up front, on every core. (Cache files are still read
        // one at a time below, so memory follows the largest repository.)
        // Only a whole repository's outcome is cached, so a blob shard stamps nothing.
        let stamping = cache.is_some() && blob_shard.is_none();
        let stamp_of = |path: &Path| {
            stamping
                .then(|| history::refs_key(&git_dir_of(path)?, &selection))
                .flatten()
        };
        let mut stamps: Vec<Option<String>> = specs
            .par_iter()
            .map(|spec| match &spec.place {
                Place::Local(path) => stamp_of(path),
                Place::Url(_) => None,
            })
            .collect();
        for (spec, stamp) in specs.into_iter().zip(stamps.iter_mut()) {
            let ready = match &spec.place {
                Place::Local(path) => Ok(Ready::Local(path.clone())),
                Place::Url(_) => receive
                    .recv()
                    .map_err(|_| "the clone was not made".to_string())
                    .and_then(|fetched| fetched.map(Ready::Clone)),
            };
            let label = if several {
                format!("{}: ", crate::escape::text(&spec.name))
            } else {
                String::new()
            };
            let mut repo_cache = cache.as_ref().map(|c| c.repo(&spec.name));
            let scanned = ready.and_then(|ready| {
                let path = match &ready {
                    Ready::Local(path) | Ready::Clone(path) => path,
                };
                // Refs that have not moved since the cached scan: not even opened. A clone is
                // stamped once fetched.
                let refs = match &ready {
                    Ready::Local(_) => stamp.take(),
                    Ready::Clone(path) => stamp_of(path),
                };
                let unchanged = repo_cache
                    .as_ref()
                    .zip(refs)
                    .and_then(|(c, key)| c.unchanged(&key).map(RepoScan::from_cache));
                let plan = BlobPlan {
                    shard: blob_shard,
                    cache: repo_cache.as_mut(),
                    label: &label,
                };
                let scanned = match unchanged {
                    Some(scan) => Ok(scan),
                    None => GitRepo::open(path).and_then(|repo| {
                        history::scan_repo(common, &repo, &selection, &judge, plan, |_| {})
                    }),
                };
                if let Ready::Clone(path) = &ready {
                    cloner.release(path);
                }
                scanned.map_err(|e| e.to_string())
            });
            if let Some(Err(e)) = repo_cache.map(|c| c.save()) {
                crate::diag::say(format_args!("{label}{e}"));
            }
            match scanned {
                Ok(RepoScan {
                    findings: found,
                    problems,
                    summary: totals,
                    commits_walked,
                }) => {
                    history::say_problems(&problems, &label);
                    summary.add(&totals);
                    summary.repositories += 1;
                    commits += commits_walked;
                    findings.extend(found.into_iter().map(|mut f: Finding| {
                        f.location.repo = Some(spec.name.clone());
                        f
                    }));
                }
                Err(e) if !several => {
                    failure = Some(e);
                    break;
                }
                Err(e) => {
                    // Named once: most errors already start with the repository.
                    let text = format!("{e:#}");
                    if text.starts_with(spec.name.as_str()) {
                        crate::diag::error(&text);
                    } else {
                        crate::diag::error(format_args!("{label}{text}"));
                    }
                    summary.errors += 1;
                }
            }
        }
    });
    if let Some(e) = failure {
        bail!(e);
    }
    let mut findings = fold::fold(findings);
    app::hide_known(common, &mut findings, &known, &policy.allowlist);
    summary.findings = findings.len() as u64;
    let unit = if blob_shard.is_some() {
        "blobs"
    } else {
        "repositories"
    };
    let shard = args.shard.map(|shard| (shard, unit));
    let target = describe(&names, several, &selection, commits, shard);
    Ok(GitScan {
        engine,
        findings,
        summary,
        started,
        target,
    })
}

/// What was scanned, in words, for the summary line; `shard` with what it shares out.
fn describe(
    names: &[String],
    several: bool,
    selection: &Selection,
    commits: usize,
    shard: Option<(Shard, &str)>,
) -> String {
    let what = match names {
        [one] if !several => one.clone(),
        [one] => format!("1 repository, {one}"),
        _ => format!("{} repositories", names.len()),
    };
    let mut text = format!(
        "git history of {what} ({}): {commits} commit(s)",
        selection.describe()
    );
    if let Some((shard, unit)) = shard {
        text.push_str(&format!(", shard {shard} of the {unit}"));
    }
    text
}

/// The git directory of the repository at `path`, when it is plainly there: a working tree's
/// `.git` directory, or a bare repository itself (else the repository is opened to find it).
fn git_dir_of(path: &Path) -> Option<PathBuf> {
    let dot_git = path.join(".git");
    if dot_git.is_dir() {
        Some(dot_git)
    } else if path.join("HEAD").is_file() && path.join("objects").is_dir() {
        Some(path.to_path_buf())
    } else {
        None
    }
}

/// The cache's detection key: everything that decides what a blob yields.
fn detection_key(common: &CommonArgs, engine: &Engine, config: &[u8]) -> String {
    let rules = format!("{:?}", engine.pack().rules());
    let flags = format!(
        "show_secrets={} include_public={} min_confidence={:?} max_decode_depth={} \
         min_severity={:?} exclude_context={:?} max_file_size={:?}",
        common.show_secrets,
        common.include_public,
        common.min_confidence,
        common.max_decode_depth,
        common.min_severity,
        common.exclude_context,
        common.max_file_size,
    );
    cache::detection_key(&[
        env!("CARGO_PKG_VERSION").as_bytes(),
        rules.as_bytes(),
        config,
        flags.as_bytes(),
    ])
}

fn selection(args: &GitArgs) -> Result<Selection> {
    let refs = if let Some(range) = &args.range {
        Selection::range(range)?
    } else if args.all {
        Selection::All
    } else if !args.branch.is_empty() {
        Selection::Branches(args.branch.clone())
    } else if !args.refs.is_empty() {
        Selection::Refs(args.refs.clone())
    } else {
        Selection::Default
    };
    let now = git_date::now();
    let date = |text: &Option<String>, flag: &str| {
        text.as_deref()
            .map(|t| git_date::parse(t, now))
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let (since, until) = (date(&args.since, "--since")?, date(&args.until, "--until")?);
    Ok(if since.is_none() && until.is_none() {
        refs
    } else {
        Selection::Dated {
            within: Box::new(refs),
            since,
            until,
        }
    })
}
