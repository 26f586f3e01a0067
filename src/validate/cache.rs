//! The optional on-disk cache (`--validation-cache DIR`): one small JSON file per validated
//! secret, named by its fingerprint (the SHA-256 reports already show, never the secret), with
//! the verdict, the identity and when it was checked. Only answers that say something about
//! the secret (live, invalid) are kept; an entry older than the TTL is asked again.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::request::Verdict;

/// A cache directory and how long its entries hold.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
}

/// One entry as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    live: bool,
    identity: Option<String>,
    /// Seconds since the Unix epoch.
    checked: u64,
}

impl Cache {
    /// The cache in `dir` (created if missing, private to the user on Unix).
    pub fn open(dir: &Path, ttl: Duration) -> Result<Cache, String> {
        fs::create_dir_all(dir).map_err(|e| format!("validation cache {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            ttl,
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The verdict stored for `key`, if one is there and fresh.
    pub fn get(&self, key: &str) -> Option<Verdict> {
        let text = fs::read_to_string(self.path(key)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        let age = now().saturating_sub(entry.checked);
        if age >= self.ttl.as_secs() {
            return None;
        }
        Some(if entry.live {
            Verdict::Live {
                identity: entry.identity,
            }
        } else {
            Verdict::Invalid
        })
    }

    /// Stores `verdict` for `key` when it says something about the secret.
    pub fn put(&self, key: &str, verdict: &Verdict) {
        let entry = match verdict {
            Verdict::Live { identity } => Entry {
                live: true,
                identity: identity.clone(),
                checked: now(),
            },
            Verdict::Invalid => Entry {
                live: false,
                identity: None,
                checked: now(),
            },
            Verdict::Unknown { .. } => return,
        };
        let path = self.path(key);
        let tmp = path.with_extension("tmp");
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        // A cache that cannot be written costs a request next time, nothing more.
        if fs::write(&tmp, text).is_ok() {
            let _ = fs::rename(&tmp, &path);
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parses a TTL: a number with `s`, `m`, `h` or `d` (`90m`, `24h`, `7d`), or seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (30m, 24h, 7d, or seconds)"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("`{text}`: use s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_and_invalid_are_kept_until_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), Duration::from_secs(60)).unwrap();
        let live = Verdict::Live {
            identity: Some("login octocat".into()),
        };
        cache.put("aa", &live);
        cache.put("bb", &Verdict::Invalid);
        cache.put("cc", &Verdict::Unknown { reason: "x".into() });
        assert_eq!(cache.get("aa"), Some(live));
        assert_eq!(cache.get("bb"), Some(Verdict::Invalid));
        assert_eq!(cache.get("cc"), None);
        let stale = Cache::open(dir.path(), Duration::ZERO).unwrap();
        fs::write(
            dir.path().join("dd.json"),
            r#"{"live":true,"identity":null,"checked":1}"#,
        )
        .unwrap();
        assert_eq!(stale.get("dd"), None);
    }

    #[test]
    fn ttls_read_as_people_write_them() {
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("30"), Ok(Duration::from_secs(30)));
        assert!(parse_ttl("1w").is_err());
    }
}
