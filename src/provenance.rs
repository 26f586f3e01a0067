//! Provenance for history findings: one secret found in many blobs (every version of a file
//! that kept it, copies on other branches) becomes one finding, placed where it was first
//! introduced, with the commit's author, date and summary, whether HEAD still has it, which
//! branches and tags still do, and the other places it appears. Only blobs that produced findings get here, so this never costs a
//! pass over the history.

use std::collections::{BTreeSet, HashMap, HashSet};

use git2::Oid;

use crate::finding::{Finding, OtherLocation, Provenance};
use crate::source::git::{BlobOrigin, CommitInfo, GitError, Holders};

/// Merges the findings of each blob (with where the blob first appeared) into one finding per
/// secret fingerprint. `holders` says which blobs HEAD and each branch or tag still hold;
/// `commit_info` looks up a commit.
pub fn attribute(
    found: Vec<(BlobOrigin<'_>, Vec<Finding>)>,
    holders: &Holders,
    commit_info: &mut dyn FnMut(Oid) -> Result<CommitInfo, GitError>,
) -> Result<Vec<Finding>, GitError> {
    let mut by_secret: HashMap<String, Vec<(BlobOrigin<'_>, Finding)>> = HashMap::new();
    for (origin, findings) in found {
        for finding in findings {
            by_secret
                .entry(finding.secret.sha256.clone())
                .or_default()
                .push((origin, finding));
        }
    }
    let mut infos: HashMap<Oid, CommitInfo> = HashMap::new();
    let mut merged = Vec::with_capacity(by_secret.len());
    for (_, mut places) in by_secret {
        places.sort_by(|(a, fa), (b, fb)| {
            (
                a.order,
                a.path,
                fa.location.line,
                fa.location.column,
                &fa.rule,
            )
                .cmp(&(
                    b.order,
                    b.path,
                    fb.location.line,
                    fb.location.column,
                    &fb.rule,
                ))
        });
        let present_at_head = places
            .iter()
            .any(|(o, _)| holders.at_head.contains(&o.blob));
        let still_in: BTreeSet<&String> = places
            .iter()
            .filter_map(|(o, _)| holders.refs.get(&o.blob))
            .flatten()
            .collect();
        // Each other place once; the first place (the secret's introduction) is not one.
        let (first, first_finding) = &places[0];
        let mut seen: HashSet<(Oid, &str, usize)> = HashSet::new();
        seen.insert((first.commit, first.path, first_finding.location.line));
        let other_locations: Vec<OtherLocation> = places[1..]
            .iter()
            .filter(|(origin, finding)| {
                seen.insert((origin.commit, origin.path, finding.location.line))
            })
            .map(|(origin, finding)| OtherLocation {
                repo: None,
                commit: origin.commit.to_string(),
                path: origin.path.to_string(),
                line: finding.location.line,
            })
            .collect();
        let (first, mut finding) = places.swap_remove(0);
        let info = match infos.get(&first.commit) {
            Some(info) => info.clone(),
            None => {
                let info = commit_info(first.commit)?;
                infos.insert(first.commit, info.clone());
                info
            }
        };
        finding.commit = Some(Provenance {
            id: info.id,
            author: info.author,
            email: info.email,
            date: info.date,
            committer_date: info.committer_date,
            summary: info.summary,
            present_at_head,
            still_in: still_in.into_iter().cloned().collect(),
            other_locations,
            order: first.order,
        });
        merged.push(finding);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, SecretInfo};
    use crate::remediate::Remediation;
    use crate::rules::{Confidence, Severity};

    fn finding(secret: &str, path: &str, line: usize) -> Finding {
        Finding {
            rule: "test-rule".into(),
            rule_name: "Test".into(),
            provider: "Test".into(),
            severity: Severity::High,
            confidence: Confidence::High,
            path_context: crate::path_context::PathContext::Source,
            rule_severity: None,
            public: false,
            secret: SecretInfo::new(secret.as_bytes(), 0, false),
            location: Location {
                repo: None,
                path: path.into(),
                line,
                column: 1,
                end_line: line,
                end_column: 10,
            },
            commit: None,
            context: String::new(),
            decoded: None,
            remediation: Remediation {
                summary: String::new(),
                steps: Vec::new(),
                revoke_url: String::new(),
            },
            validation: None,
        }
    }

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    fn origin(blob: u8, commit: u8, order: u32, path: &str) -> BlobOrigin<'_> {
        BlobOrigin {
            blob: oid(blob),
            commit: oid(commit),
            order,
            path,
        }
    }

    #[test]
    fn one_secret_in_many_blobs_is_one_finding_at_its_first_introduction() {
        let found = vec![
            (
                origin(2, 20, 5, "b.env"),
                vec![
                    finding("first-secret", "b.env", 1),
                    finding("other", "b.env", 4),
                ],
            ),
            (
                origin(1, 10, 2, "a.env"),
                vec![
                    finding("first-secret", "a.env", 7),
                    finding("first-secret", "a.env", 9),
                ],
            ),
        ];
        let holders = Holders {
            at_head: [oid(2)].into(),
            refs: [
                (oid(1), vec!["feature".to_string()]),
                (oid(2), vec!["main".to_string(), "v1".to_string()]),
            ]
            .into(),
        };
        let mut lookups = Vec::new();
        let merged = attribute(found, &holders, &mut |id| {
            lookups.push(id);
            Ok(CommitInfo {
                id: id.to_string(),
                author: "A".into(),
                email: "a@example.com".into(),
                date: "2024-01-01T00:00:00+00:00".into(),
                committer_date: "2024-01-02T00:00:00+00:00".into(),
                summary: "s".into(),
            })
        })
        .unwrap();
        assert_eq!(merged.len(), 2);
        // The scanner sorts findings for the report; here, take each by its secret.
        let by_secret = |secret: &str| {
            let sha = SecretInfo::new(secret.as_bytes(), 0, false).sha256;
            merged.iter().find(|f| f.secret.sha256 == sha).unwrap()
        };
        let first = by_secret("first-secret");
        assert_eq!(
            (first.location.path.as_str(), first.location.line),
            ("a.env", 7)
        );
        let provenance = first.commit.as_ref().unwrap();
        assert_eq!(provenance.id, oid(10).to_string());
        assert!(provenance.present_at_head);
        assert_eq!(provenance.still_in, ["feature", "main", "v1"]);
        let others: Vec<(String, &str, usize)> = provenance
            .other_locations
            .iter()
            .map(|o| (o.commit.clone(), o.path.as_str(), o.line))
            .collect();
        assert_eq!(
            others,
            [
                (oid(10).to_string(), "a.env", 9),
                (oid(20).to_string(), "b.env", 1)
            ]
        );
        let second = by_secret("other");
        assert_eq!(second.location.line, 4);
        assert_eq!(second.commit.as_ref().unwrap().still_in, ["main", "v1"]);
        assert_eq!(second.commit.as_ref().unwrap().id, oid(20).to_string());
        assert_eq!(lookups.len(), 2, "each commit is looked up once");
    }
}
