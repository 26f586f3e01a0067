//! One secret, one finding: the findings of many repositories, or of many shard reports, are
//! folded by fingerprint into one finding that keeps every place the secret was seen.
//!
//! The place reported is the earliest: within one repository the first in the order its
//! history was walked (`Provenance::order`, the same in every shard of one history), across
//! repositories the earliest commit date, then the repository's name. The fold is a function of
//! the set of places, so folding is order-independent and folding again changes nothing;
//! a secret found once is kept exactly as it was. Findings without provenance (directory scans)
//! are kept apart: only exact duplicates are dropped.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::finding::{Finding, OtherLocation};
use crate::git_date;

/// Folds `findings` by fingerprint (see the module documentation), sorted by repository, path
/// and position.
pub fn fold(findings: Vec<Finding>) -> Vec<Finding> {
    let mut groups: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let mut loose: Vec<Finding> = Vec::new();
    for finding in findings {
        if finding.commit.is_some() {
            groups
                .entry(finding.secret.sha256.clone())
                .or_default()
                .push(finding);
        } else {
            loose.push(finding);
        }
    }
    loose.sort_by(position);
    loose.dedup_by(|a, b| position(a, b) == Ordering::Equal && a.secret.sha256 == b.secret.sha256);
    let mut folded: Vec<Finding> = groups.into_values().map(fold_secret).collect();
    folded.append(&mut loose);
    folded.sort_by(position);
    folded
}

/// Report order: repository, path, line, column, rule.
fn position(a: &Finding, b: &Finding) -> Ordering {
    let key = |f: &Finding| {
        (
            f.location.repo.clone(),
            f.location.path.clone(),
            f.location.line,
            f.location.column,
            f.rule.clone(),
        )
    };
    key(a).cmp(&key(b))
}

/// The name of the repository a finding is in ("" when it does not say).
fn repo_of(f: &Finding) -> &str {
    f.location.repo.as_deref().unwrap_or("")
}

/// Order within one repository: the walk's order, then path and position.
fn earlier_in_repo(a: &Finding, b: &Finding) -> Ordering {
    let order = |f: &Finding| f.commit.as_ref().map_or(u32::MAX, |c| c.order);
    order(a).cmp(&order(b)).then_with(|| position(a, b))
}

/// Commit time in seconds, for comparing repositories (unknown: last).
fn committed(f: &Finding) -> i64 {
    f.commit
        .as_ref()
        .and_then(|c| git_date::parse(&c.committer_date, 0).ok())
        .unwrap_or(i64::MAX)
}

/// A place a secret was seen: repository, path, line, commit.
type Place = (String, String, usize, String);

/// The places `f` names: its own and its other locations.
fn places_of(f: &Finding) -> BTreeSet<Place> {
    let repo = repo_of(f).to_string();
    let mut places = BTreeSet::new();
    if let Some(c) = &f.commit {
        places.insert((
            repo.clone(),
            f.location.path.clone(),
            f.location.line,
            c.id.clone(),
        ));
        for o in &c.other_locations {
            let at = o.repo.clone().unwrap_or_else(|| repo.clone());
            places.insert((at, o.path.clone(), o.line, o.commit.clone()));
        }
    }
    places
}

/// One secret's findings, folded into one.
fn fold_secret(mut group: Vec<Finding>) -> Finding {
    let first_places = places_of(&group[0]);
    let same = group.iter().all(|f| {
        repo_of(f) == repo_of(&group[0])
            && position(f, &group[0]) == Ordering::Equal
            && places_of(f) == first_places
    });
    if same {
        // Found once (or the same finding read twice): kept exactly as it was.
        return group.swap_remove(0);
    }
    // Every place and every ref still holding the secret, from every finding.
    let mut places: BTreeSet<Place> = BTreeSet::new();
    let mut holders: BTreeSet<(String, String)> = BTreeSet::new();
    let mut at_head = false;
    for f in &group {
        places.extend(places_of(f));
        if let Some(c) = &f.commit {
            for name in &c.still_in {
                holders.insert(qualified(repo_of(f), name));
            }
            at_head |= c.present_at_head;
        }
    }
    // The earliest of each repository, then the earliest of those.
    let mut firsts: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in group.iter().enumerate() {
        let first = firsts.entry(repo_of(f)).or_insert(i);
        if earlier_in_repo(f, &group[*first]) == Ordering::Less {
            *first = i;
        }
    }
    let chosen = firsts
        .values()
        .copied()
        .min_by(|&a, &b| {
            committed(&group[a])
                .cmp(&committed(&group[b]))
                .then_with(|| repo_of(&group[a]).cmp(repo_of(&group[b])))
        })
        .unwrap_or(0);
    let mut finding = group.swap_remove(chosen);
    let home = repo_of(&finding).to_string();
    if let Some(c) = finding.commit.as_mut() {
        let own = (
            home.clone(),
            finding.location.path.clone(),
            finding.location.line,
            c.id.clone(),
        );
        c.other_locations = places
            .into_iter()
            .filter(|place| *place != own)
            .map(|(repo, path, line, commit)| OtherLocation {
                repo: (repo != home).then_some(repo),
                commit,
                path,
                line,
            })
            .collect();
        // The finding's own repository's refs first, then the others', qualified.
        let mut holders: Vec<(String, String)> = holders.into_iter().collect();
        holders.sort_by_key(|(repo, _)| *repo != home);
        c.still_in = holders
            .into_iter()
            .map(|(repo, name)| {
                if repo == home {
                    name
                } else {
                    format!("{repo}:{name}")
                }
            })
            .collect();
        c.present_at_head = at_head;
    }
    finding
}

/// A ref name as (repository, name): `REPO:name` names one of another repository (a ref name
/// never holds a colon), a bare name one of `repo`.
fn qualified(repo: &str, name: &str) -> (String, String) {
    match name.rsplit_once(':') {
        Some((other, name)) => (other.to_string(), name.to_string()),
        None => (repo.to_string(), name.to_string()),
    }
}

/// How many repositories hold the secret of `finding`: its own and those of its other places.
pub fn repositories(finding: &Finding) -> usize {
    let mut repos: BTreeSet<&str> = BTreeSet::new();
    repos.insert(repo_of(finding));
    if let Some(c) = &finding.commit {
        repos.extend(c.other_locations.iter().filter_map(|o| o.repo.as_deref()));
    }
    repos.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Provenance;
    use crate::report::testing;

    /// A finding of one secret in `repo`, introduced by `commit` at walk position `order`.
    fn found(repo: &str, commit: &str, order: u32, date: &str, branch: &str) -> Finding {
        let rules = testing::rules();
        let mut f = testing::finding(&rules[0], b"demo_qwertyuiop", "a.env", 3);
        f.location.repo = Some(repo.to_string());
        f.commit = Some(Provenance {
            id: commit.to_string(),
            author: "A".into(),
            email: "a@example.com".into(),
            date: date.to_string(),
            committer_date: date.to_string(),
            summary: "s".into(),
            present_at_head: repo == "b",
            still_in: vec![branch.to_string()],
            other_locations: Vec::new(),
            order,
        });
        f
    }

    #[test]
    fn one_secret_in_two_repositories_folds_to_the_earliest_in_any_order_and_again() {
        let a = found("a", "c1", 4, "2024-01-02T00:00:00+00:00", "main");
        let b = found("b", "c2", 0, "2024-01-01T23:00:00-02:00", "dev");
        let folded = fold(vec![a.clone(), b.clone()]);
        assert_eq!(folded.len(), 1);
        let f = &folded[0];
        // b's commit is 2024-01-02T01:00Z: a's is earlier, whatever the walk positions.
        assert_eq!(f.location.repo.as_deref(), Some("a"));
        let c = f.commit.as_ref().unwrap();
        assert_eq!(c.other_locations.len(), 1);
        assert_eq!(c.other_locations[0].repo.as_deref(), Some("b"));
        assert_eq!(c.still_in, ["main", "b:dev"]);
        assert!(c.present_at_head);
        assert_eq!(repositories(f), 2);

        let again = fold(vec![b, folded[0].clone(), a]);
        assert_eq!(format!("{again:?}"), format!("{folded:?}"));
        assert_eq!(format!("{:?}", fold(folded.clone())), format!("{folded:?}"));
    }
}
