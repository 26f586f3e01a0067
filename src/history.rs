//! History scans: walk a repository's history, scan every distinct blob once in parallel, and
//! attribute each secret to the commit that introduced it. `scan_repo` does one repository
//! with rules built once (`keyhound git` runs it over many); `scan` adds the policy of one
//! repository, for `keyhound ci` and `pre-push`. Errors that make a scan meaningless (no
//! repository, a revision that is not there) stop it before any work.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use git2::Oid;
use indicatif::{ProgressBar, ProgressStyle};

use crate::allow::Allowlist;
use crate::app;
use crate::audit::cache::{self, Outcome, RepoCache};
use crate::audit::shard::Shard;
use crate::cli::CommonArgs;
use crate::engine::Engine;
use crate::finding::Finding;
use crate::provenance;
use crate::remediate::Exposure;
use crate::report::ScanReport;
use crate::scan::{ReportPolicy, Scanner, Summary};
use crate::source::git::{BlobOrigin, GitError, GitRepo, Holders, Selection};
use crate::source::ChunkSink;
use crate::trusted_policy::{self, PolicySource, ScanPolicy};

/// Problems printed one per line before they are summed up, so a repository with thousands of
/// missing objects (a partial clone) does not bury the report.
const PROBLEMS_SHOWN: usize = 20;

/// A finished history scan: the findings left after baselines and allowlists, and the engine
/// whose rules a report describes.
pub struct HistoryScan {
    engine: Engine,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub elapsed: Duration,
    /// Commits walked, including those that introduced nothing.
    pub commits_walked: usize,
    /// How far the scanned commits have travelled (pushed, or about to be).
    exposure: Exposure,
}

impl HistoryScan {
    /// Validates the findings when `--validate` asks (see `validate::apply`).
    pub fn validate(&mut self, common: &CommonArgs) -> Result<()> {
        crate::validate::apply(
            common,
            self.engine.pack().rules(),
            &mut self.findings,
            self.exposure,
        )?;
        self.summary.findings = self.findings.len() as u64;
        Ok(())
    }

    /// The report of this scan, describing what was scanned as `target`.
    pub fn report<'a>(&'a self, target: &'a str) -> ScanReport<'a> {
        ScanReport {
            findings: &self.findings,
            summary: self.summary,
            elapsed: self.elapsed,
            target,
            rules: self.engine.pack().rules(),
            exposure: self.exposure,
        }
    }
}

/// Scans the commits `selection` picks in `repo`: every distinct blob they introduce, once,
/// with provenance for what is found. Config, ignore files and baseline come from `trusted`
/// (see `trusted_policy`). `on_walked` gets the number of commits once the walk is done,
/// before blobs are read.
pub fn scan(
    common: &CommonArgs,
    repo: &GitRepo,
    selection: &Selection,
    exposure: Exposure,
    trusted: &PolicySource,
    on_walked: impl FnOnce(usize),
) -> Result<HistoryScan> {
    let started = Instant::now();
    // Baselines, ignore files and commit allowlists hide known findings, as for `dir`; a bad
    // baseline is refused before the scan, not after it.
    let ScanPolicy { policy, known } = trusted_policy::load(common, repo, trusted)?;
    let reporting = app::report_policy(common, &policy, exposure);
    let engine = app::engine(common, policy.pack, policy.include_weak);
    let judge = Judge {
        engine: &engine,
        allowlist: &policy.allowlist,
        reporting,
    };
    let RepoScan {
        mut findings,
        problems,
        mut summary,
        commits_walked,
    } = scan_repo(
        common,
        repo,
        selection,
        &judge,
        BlobPlan::default(),
        on_walked,
    )?;
    app::hide_known(common, &mut findings, &known, &policy.allowlist);
    summary.findings = findings.len() as u64;
    say_problems(&problems, "");
    Ok(HistoryScan {
        engine,
        findings,
        summary,
        elapsed: started.elapsed(),
        commits_walked,
        exposure,
    })
}

/// Prints up to `PROBLEMS_SHOWN` problems, each after `label`, and how many more there were.
pub fn say_problems(problems: &[String], label: &str) {
    for problem in problems.iter().take(PROBLEMS_SHOWN) {
        crate::diag::say(format_args!("{label}{problem}"));
    }
    if problems.len() > PROBLEMS_SHOWN {
        crate::diag::say(format_args!(
            "{label}… and {} more unreadable object(s)",
            problems.len() - PROBLEMS_SHOWN
        ));
    }
}

/// What blobs are judged by, built once for any number of repositories.
pub struct Judge<'a> {
    pub engine: &'a Engine,
    pub allowlist: &'a Allowlist,
    /// What to report, and how far the scanned commits have travelled (the playbooks
    /// depend on it).
    pub reporting: ReportPolicy,
}

/// Which of a walked history's blobs are read, and where the others' findings come from.
#[derive(Default)]
pub struct BlobPlan<'a> {
    /// Read only the blobs of this shard (one repository split over several processes).
    pub shard: Option<Shard>,
    /// Findings of blobs scanned before with the same rules, and where new ones are recorded.
    pub cache: Option<&'a mut RepoCache>,
    /// Put before notes about the repository (its name, in a scan of several).
    pub label: &'a str,
}

/// One repository's history, scanned: findings with provenance, before baselines and ignore
/// files hide any.
pub struct RepoScan {
    pub findings: Vec<Finding>,
    /// Unreadable objects and other trouble, one message each.
    pub problems: Vec<String>,
    pub summary: Summary,
    /// Commits walked, including those that introduced nothing.
    pub commits_walked: usize,
}

impl RepoScan {
    /// The last scan's result, for refs that have not moved since: no blob read.
    pub fn from_cache(outcome: &Outcome) -> RepoScan {
        RepoScan {
            findings: outcome.findings.clone(),
            problems: Vec::new(),
            summary: Summary {
                cached: outcome.blobs,
                ..Summary::default()
            },
            commits_walked: outcome.commits,
        }
    }
}

/// A blob whose findings came from the cache, with where it first appeared.
struct CachedBlob {
    blob: Oid,
    commit: Oid,
    order: u32,
    path: String,
    findings: Vec<Finding>,
}

/// What a repository's whole-result cache entry is keyed by: its refs as they stand on disk
/// (`cache::refs_stamp`) and the refs asked for.
pub fn refs_key(git_dir: &Path, selection: &Selection) -> Option<String> {
    cache::refs_stamp(git_dir).map(|stamp| format!("{stamp}\0{}", selection.describe()))
}

/// Scans the commits `selection` picks in `repo` with `judge`: every distinct blob they
/// introduce that `plan` leaves to read, once, in parallel; then provenance for what is found.
pub fn scan_repo(
    common: &CommonArgs,
    repo: &GitRepo,
    selection: &Selection,
    judge: &Judge,
    plan: BlobPlan,
    on_walked: impl FnOnce(usize),
) -> Result<RepoScan, GitError> {
    let BlobPlan {
        shard,
        mut cache,
        label,
    } = plan;
    // With a cache (and the whole repository to scan), refs that have not moved since the last
    // scan give its result back without walking the history at all.
    let refs = cache
        .as_ref()
        .filter(|_| shard.is_none())
        .and_then(|_| refs_key(repo.git_dir(), selection));
    if let Some(outcome) = cache
        .as_ref()
        .zip(refs.as_ref())
        .and_then(|(c, r)| c.unchanged(r))
    {
        return Ok(RepoScan::from_cache(outcome));
    }
    let scanner = Scanner::new(judge.engine, judge.allowlist, judge.reporting.clone());
    if repo.is_shallow() && common.notes_wanted() {
        let root = repo.workdir().unwrap_or(repo.git_dir());
        crate::diag::note(format_args!(
            "{label}{} is a shallow clone, so its history is cut: commits before the \
             cut are not scanned (fetch the full history with `git fetch --unshallow`, or \
             `fetch-depth: 0` in actions/checkout)",
            root.display()
        ));
    }
    let progress = Progress::new(common);
    // Path allowlists apply per location: the walker records each blob at a path they do not
    // cover, and leaves out blobs seen at covered paths only.
    let allowlisted = |path: &str| judge.allowlist.allows_path(path);
    let mut history = repo.walk(selection, &allowlisted, &mut |walked| {
        progress.walked(walked)
    })?;
    // The spinner's line is cleared while anything else is printed, so the two never share it.
    progress.suspend(|| {
        if common.notes_wanted() {
            for note in &history.notes {
                crate::diag::note(format_args!("{label}{note}"));
            }
        }
        on_walked(history.commits_walked);
    });
    for problem in &history.problems {
        scanner.error("<history>", problem);
    }
    if let Some(shard) = shard {
        history.retain(|origin| shard.keeps_blob(origin.blob));
    }
    // A history whose path allowlists were waived is scanned whole: its blobs' findings do
    // not depend on their paths the way the cache records them.
    if history.path_allowlists_waived {
        cache = None;
    }
    if let Some(cache) = cache.as_deref_mut() {
        cache.load_blobs();
    }
    let mut cached: Vec<CachedBlob> = Vec::new();
    if let Some(cache) = &cache {
        history.retain(|origin| match cache.findings(origin.blob, origin.path) {
            Some(findings) => {
                cached.push(CachedBlob {
                    blob: origin.blob,
                    commit: origin.commit,
                    order: origin.order,
                    path: origin.path.to_string(),
                    findings,
                });
                false
            }
            None => true,
        });
    }

    progress.reading(history.len());
    // With a cache, every blob read is recorded, those without findings too.
    let record_all = cache.is_some();
    let found: Mutex<Vec<(usize, Vec<Finding>)>> = Mutex::new(Vec::new());
    let on_blob = |index: usize, path: &str, bytes: &[u8]| {
        let findings = if history.path_allowlists_waived {
            scanner.scan_chunk_at_any_path(path, bytes)
        } else {
            scanner.scan_chunk(path, bytes)
        };
        if record_all || !findings.is_empty() {
            if let Ok(mut found) = found.lock() {
                found.push((index, findings));
            }
        }
    };
    history.scan(
        app::threads(common),
        common.max_file_size,
        &on_blob,
        &|n| progress.read(n),
        &scanner,
    );
    progress.finish();

    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(cache) = cache.as_deref_mut() {
        for (index, findings) in &found {
            let origin = history.origin(*index);
            cache.record(origin.blob, origin.path, findings);
        }
        found.retain(|(_, findings)| !findings.is_empty());
    }
    let mut places: Vec<(BlobOrigin, Vec<Finding>)> = found
        .into_iter()
        .map(|(index, findings)| (history.origin(index), findings))
        .collect();
    let from_cache = cached.len() as u64;
    places.extend(cached.iter().filter(|c| !c.findings.is_empty()).map(|c| {
        let origin = BlobOrigin {
            blob: c.blob,
            commit: c.commit,
            order: c.order,
            path: &c.path,
        };
        (origin, c.findings.clone())
    }));
    // A tree that cannot be read costs the "still in HEAD" flags, not the findings.
    let blobs: Vec<Oid> = places.iter().map(|(origin, _)| origin.blob).collect();
    let holders = if blobs.is_empty() {
        Holders::default()
    } else {
        repo.holders(&blobs).unwrap_or_else(|e| {
            scanner.error(
                "HEAD",
                &format!("cannot tell which secrets are still there: {e}"),
            );
            Holders::default()
        })
    };
    let merged = provenance::attribute(places, &holders, &mut |id| repo.commit_info(id))?;
    scanner.record(merged);
    let (findings, problems, mut summary) = scanner.finish();
    summary.cached = from_cache;
    if let (Some(cache), Some(refs)) = (cache, refs) {
        // Only a complete result stands for the refs: a blob that could not be read is
        // read again next time.
        if problems.is_empty() {
            cache.remember(Outcome {
                refs,
                blobs: summary.files + summary.cached,
                commits: history.commits_walked,
                findings: findings.clone(),
            });
        }
    }
    Ok(RepoScan {
        findings,
        problems,
        summary,
        commits_walked: history.commits_walked,
    })
}

/// The progress display on stderr: a spinner while walking commits, then a bar over blobs.
/// Shown only to a person at a terminal: never in CI, pre-commit hooks, or with `-q`.
struct Progress {
    bar: Option<ProgressBar>,
    /// Whether the bar shows a time estimate yet (see `read`).
    estimating: AtomicBool,
}

/// Share of the blobs read, and time spent, before the bar estimates the time left: earlier
/// the rate is that of the first, cache-cold batches and the estimate is noise.
const ESTIMATE_AFTER_SHARE: u64 = 10;
const ESTIMATE_AFTER: Duration = Duration::from_secs(3);

impl Progress {
    fn new(common: &CommonArgs) -> Progress {
        let wanted = !common.no_progress
            && common.notes_wanted()
            && io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            && std::env::var_os("PRE_COMMIT").is_none();
        Progress {
            bar: wanted.then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_message("walking history");
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }),
            estimating: AtomicBool::new(false),
        }
    }

    fn walked(&self, commits: usize) {
        if let Some(bar) = &self.bar {
            if commits % 256 == 0 {
                bar.set_message(format!("walking history: {commits} commits"));
            }
        }
    }

    fn reading(&self, blobs: usize) {
        if let Some(bar) = &self.bar {
            bar.set_style(style("{bar:30} {pos}/{len} blobs, {elapsed}"));
            bar.set_length(blobs as u64);
            bar.set_position(0);
        }
    }

    fn read(&self, blobs: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(blobs);
            let far_enough = bar.position() * ESTIMATE_AFTER_SHARE
                >= bar.length().unwrap_or(u64::MAX)
                && bar.elapsed() >= ESTIMATE_AFTER;
            if far_enough && !self.estimating.swap(true, Ordering::Relaxed) {
                bar.set_style(style("{bar:30} {pos}/{len} blobs, {elapsed} ({eta} left)"));
            }
        }
    }

    /// Runs `print` with the progress line cleared, then draws it again.
    fn suspend(&self, print: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
