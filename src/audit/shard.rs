//! `--shard K/N`: a deterministic share of the work, so N processes on N machines, each given
//! a different K, cover everything exactly once. Repositories are shared out by a hash of their
//! name as given (the same list gives the same shares everywhere); one repository alone is
//! shared out by blob id, which is already a uniform hash.

use std::fmt;
use std::str::FromStr;

use git2::Oid;
use sha2::{Digest, Sha256};

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not K/N with 1 <= K <= N (1/4, 2/4, …)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether repository `name` (as given) is this shard's.
    pub fn keeps_repo(&self, name: &str) -> bool {
        let digest = Sha256::digest(name.as_bytes());
        self.keeps(u64::from_be_bytes(first_eight(&digest)))
    }

    /// Whether blob `id` is this shard's.
    pub fn keeps_blob(&self, id: Oid) -> bool {
        self.keeps(u64::from_be_bytes(first_eight(id.as_bytes())))
    }

    fn keeps(&self, hash: u64) -> bool {
        hash % self.count == self.index - 1
    }
}

fn first_eight(bytes: &[u8]) -> [u8; 8] {
    let mut head = [0u8; 8];
    head.copy_from_slice(&bytes[..8]);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_as_k_of_n() {
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_name_and_blob_falls_in_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for i in 0..200 {
            let name = format!("https://example.com/org/repo-{i}");
            assert_eq!(shards.iter().filter(|s| s.keeps_repo(&name)).count(), 1);
            let blob = Oid::hash_object(git2::ObjectType::Blob, name.as_bytes()).unwrap();
            assert_eq!(shards.iter().filter(|s| s.keeps_blob(blob)).count(), 1);
        }
        let one: Shard = "1/1".parse().unwrap();
        assert!(one.keeps_repo("x"));
    }
}
