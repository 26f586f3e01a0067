//! `keyhound git`: walks a repository's history, scans every distinct blob once in parallel,
//! attributes each secret to the commit that introduced it, and reports; `keyhound ci` runs the
//! same scan over the commits a GitHub event names. Errors that make the scan meaningless (no
//! repository, a revision that is not there) stop it before any work.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app;
use crate::cli::{CommonArgs, GitArgs};
use crate::engine::Engine;
use crate::finding::Finding;
use crate::git_date;
use crate::policy_paths::PolicyPaths;
use crate::provenance;
use crate::remediate::Exposure;
use crate::report::ScanReport;
use crate::scan::{Scanner, Summary};
use crate::source::git::{GitRepo, Holders, Selection};
use crate::source::ChunkSink;
use crate::trusted_policy::{self, PolicySource, ScanPolicy};

/// Problems printed one per line before they are summed up, so a repository with thousands of
/// missing objects (a partial clone) does not bury the report.
const PROBLEMS_SHOWN: usize = 20;

/// Runs `keyhound git`.
pub fn run(common: &CommonArgs, args: &GitArgs) -> Result<ExitCode> {
    let repo = GitRepo::open(&args.repo)?;
    let selection = selection(args)?;
    let scan = scan(
        common,
        &repo,
        &selection,
        Exposure::Committed,
        &PolicySource::WorkTree,
        |_| {},
    )?;
    let target = format!(
        "git history of {} ({}): {} commit(s)",
        args.repo.display(),
        selection.describe(),
        scan.commits_walked
    );
    let report = scan.report(&target);
    app::emit(common, &report)?;
    Ok(app::exit_code(common, &report))
}

/// Runs `keyhound baseline git`: the scan `keyhound git` runs, written as a baseline.
pub fn record_baseline(common: &CommonArgs, args: &GitArgs) -> Result<ExitCode> {
    app::refuse_baseline_flag(common)?;
    let repo = GitRepo::open(&args.repo)?;
    let selection = selection(args)?;
    let scan = scan(
        common,
        &repo,
        &selection,
        Exposure::Committed,
        &PolicySource::WorkTreeRecording,
        |_| {},
    )?;
    app::write_baseline(common, &scan.findings)?;
    Ok(if scan.summary.errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

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
    let root = repo.workdir().unwrap_or(repo.git_dir()).to_path_buf();
    // Baselines, ignore files and commit allowlists hide known findings, as for `dir`; a bad
    // baseline is refused before the scan, not after it.
    let ScanPolicy { policy, known } = trusted_policy::load(common, repo, trusted)?;
    let reporting = app::report_policy(common, &policy, exposure);
    let engine = app::engine(common, policy.pack, policy.include_weak);
    let scanner = Scanner::new(&engine, &policy.allowlist, reporting);

    if repo.is_shallow() && common.notes_wanted() {
        crate::diag::note(format_args!(
            "{} is a shallow clone, so its history is cut: commits before the \
             cut are not scanned (fetch the full history with `git fetch --unshallow`, or \
             `fetch-depth: 0` in actions/checkout)",
            root.display()
        ));
    }
    let progress = Progress::new(common);
    // Path allowlists apply per location: the walker records each blob at a path they do not
    // cover, and leaves out blobs seen at covered paths only.
    let allowlisted = |path: &str| policy.allowlist.allows_path(path);
    let history = repo.walk(selection, &allowlisted, &mut |walked| {
        progress.walked(walked)
    })?;
    // The spinner's line is cleared while anything else is printed, so the two never share it.
    progress.suspend(|| {
        if common.notes_wanted() {
            for note in &history.notes {
                crate::diag::note(note);
            }
        }
        on_walked(history.commits_walked);
    });
    for problem in &history.problems {
        scanner.error("<history>", problem);
    }

    progress.reading(history.len());
    let found: Mutex<Vec<(usize, Vec<Finding>)>> = Mutex::new(Vec::new());
    let on_blob = |index: usize, path: &str, bytes: &[u8]| {
        let findings = if history.path_allowlists_waived {
            scanner.scan_chunk_at_any_path(path, bytes)
        } else {
            scanner.scan_chunk(path, bytes)
        };
        if !findings.is_empty() {
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

    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    // A tree that cannot be read costs the "still in HEAD" flags, not the findings.
    let blobs: Vec<_> = found.iter().map(|(i, _)| history.origin(*i).blob).collect();
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
    let found = found
        .into_iter()
        .map(|(index, findings)| (history.origin(index), findings))
        .collect();
    let merged = provenance::attribute(found, &holders, &mut |id| repo.commit_info(id))?;
    scanner.record(merged);

    let (mut findings, problems, mut summary) = scanner.finish();
    app::hide_known(
        common,
        &mut findings,
        &known,
        &policy.allowlist,
        &PolicyPaths::default(),
    );
    summary.findings = findings.len() as u64;
    for problem in problems.iter().take(PROBLEMS_SHOWN) {
        crate::diag::say(problem);
    }
    if problems.len() > PROBLEMS_SHOWN {
        crate::diag::say(format_args!(
            "… and {} more unreadable object(s)",
            problems.len() - PROBLEMS_SHOWN
        ));
    }
    Ok(HistoryScan {
        engine,
        findings,
        summary,
        elapsed: started.elapsed(),
        commits_walked: history.commits_walked,
        exposure,
    })
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
