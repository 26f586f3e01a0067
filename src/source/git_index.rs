//! A reader for git's index file (`.git/index`, versions 2 to 4) with its cache-tree extension,
//! for the pre-commit hook's hot path.
//!
//! libgit2 verifies the whole file's SHA-1 with a collision-detecting implementation and then
//! diffs every tree of HEAD against it; git itself skips every directory whose cached tree id
//! (the `TREE` extension) still equals HEAD's. This reader lets `keyhound staged` do the same,
//! so a one-file commit in a large repository reads two or three trees instead of thousands.
//! Anything it does not handle (split or sparse indexes, unmerged entries, SHA-256
//! repositories) is reported as `None`, and the caller falls back to libgit2.

use std::collections::HashMap;

use git2::Oid;

const OID_LEN: usize = 20;

/// One staged file: its full path, mode and blob id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub path: Vec<u8>,
    pub mode: u32,
    pub oid: Oid,
}

/// The index: entries sorted by path, and the tree id of each directory whose cached tree is
/// still valid (`""` is the root, otherwise `dir/sub` without a trailing slash).
#[derive(Debug, Default)]
pub struct GitIndex {
    pub entries: Vec<IndexEntry>,
    pub cached_trees: HashMap<Vec<u8>, Oid>,
}

/// Parses an index file; `None` for a format this reader leaves to libgit2.
pub fn parse(data: &[u8]) -> Option<GitIndex> {
    let mut r = Reader { data, at: 0 };
    if r.take(4)? != b"DIRC" {
        return None;
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count.min(data.len() / 62));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.at;
        r.take(24)?; // ctime, mtime, dev, ino
        let mode = r.u32()?;
        r.take(12)?; // uid, gid, size
        let oid = Oid::from_bytes(r.take(OID_LEN)?).ok()?;
        let flags = r.u16()?;
        if flags & 0x3000 != 0 {
            return None; // an unmerged entry: a merge in progress
        }
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            r.u16()?; // extended flags: intent-to-add, skip-worktree
        }
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous.len().checked_sub(strip)?;
            let mut path = previous[..keep].to_vec();
            path.extend_from_slice(r.until_nul()?);
            path
        } else {
            let path = r.until_nul()?.to_vec();
            // Entries are padded with NULs to a multiple of 8 bytes (the NUL read above is
            // the first of them).
            let len = r.at - start;
            r.take((8 - len % 8) % 8)?;
            path
        };
        if mode & 0o170000 == 0o040000 {
            return None; // a sparse index's directory entry
        }
        // The tree comparison relies on clean, sorted paths: anything else is left to libgit2.
        let clean = !path.is_empty()
            && !path.starts_with(b"/")
            && !path.ends_with(b"/")
            && memchr::memmem::find(&path, b"//").is_none();
        if !clean || path < previous {
            return None;
        }
        previous.clone_from(&path);
        entries.push(IndexEntry { path, mode, oid });
    }
    let mut cached_trees = HashMap::new();
    // Extensions, then the trailing checksum.
    while r.data.len() - r.at > OID_LEN {
        let signature = r.take(4)?;
        let size = r.u32()? as usize;
        let body = r.take(size)?;
        match signature {
            b"TREE" => read_cache_tree(body, &mut cached_trees)?,
            b"link" | b"sdir" => return None,
            // Other extensions are optional by git's rules when they start with A-Z.
            [first, ..] if first.is_ascii_uppercase() => {}
            _ => return None,
        }
    }
    Some(GitIndex {
        entries,
        cached_trees,
    })
}

/// The `TREE` extension: nodes in pre-order, each `name NUL entry_count SP subtrees LF [oid]`,
/// where `entry_count` is -1 for an invalidated node (which then has no id).
fn read_cache_tree(body: &[u8], out: &mut HashMap<Vec<u8>, Oid>) -> Option<()> {
    let mut r = Reader { data: body, at: 0 };
    // (path of the directory, subtrees still to read below it)
    let mut stack: Vec<(Vec<u8>, usize)> = Vec::new();
    while r.at < body.len() {
        let name = r.until_nul()?;
        let counts = r.until(b'\n')?;
        let text = std::str::from_utf8(counts).ok()?;
        let (entries, subtrees) = text.split_once(' ')?;
        let entries: i64 = entries.parse().ok()?;
        let subtrees: usize = subtrees.parse().ok()?;
        let path = match stack.last_mut() {
            None => Vec::new(),
            Some((parent, remaining)) => {
                *remaining = remaining.checked_sub(1)?;
                let mut path = parent.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name);
                path
            }
        };
        if entries >= 0 {
            out.insert(path.clone(), Oid::from_bytes(r.take(OID_LEN)?).ok()?);
        }
        stack.push((path, subtrees));
        while stack.last().is_some_and(|(_, remaining)| *remaining == 0) {
            stack.pop();
        }
    }
    Some(())
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Bytes up to `end`, which is consumed but not returned.
    fn until(&mut self, end: u8) -> Option<&'a [u8]> {
        let len = memchr::memchr(end, &self.data[self.at..])?;
        let bytes = &self.data[self.at..self.at + len];
        self.at += len + 1;
        Some(bytes)
    }

    fn until_nul(&mut self) -> Option<&'a [u8]> {
        self.until(0)
    }

    /// Git's offset varint (index v4 path compression).
    fn varint(&mut self) -> Option<usize> {
        let mut byte = *self.take(1)?.first()?;
        let mut value = (byte & 0x7f) as usize;
        while byte & 0x80 != 0 {
            byte = *self.take(1)?.first()?;
            value = value.checked_add(1)?.checked_mul(128)? | (byte & 0x7f) as usize;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// What libgit2 reads from the same index: (path, mode, id) of every entry.
    fn libgit2_entries(dir: &Path) -> Vec<IndexEntry> {
        let index = git2::Repository::open(dir).unwrap().index().unwrap();
        index
            .iter()
            .map(|e| IndexEntry {
                path: e.path,
                mode: e.mode,
                oid: e.id,
            })
            .collect()
    }

    #[test]
    fn reads_what_libgit2_reads_and_the_valid_cached_trees_in_v2_and_v4() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        for (path, text) in [
            ("a.txt", "a"),
            ("a-b/x", "x"),
            ("a/b/c.txt", "c"),
            ("a/b/deeper/d.txt", "d"),
            ("lib/util.c", "u"),
            ("z", "z"),
        ] {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "one"]);
        std::fs::write(root.join("lib/new.c"), "n").unwrap();
        git(root, &["add", "lib/new.c"]);
        let head = git2::Repository::open(root).unwrap();
        let head_tree = head.head().unwrap().peel_to_tree().unwrap();
        let a_tree = head_tree.get_path(Path::new("a")).unwrap().id();

        for version in ["2", "4"] {
            git(root, &["update-index", "--index-version", version]);
            // Rebuild the cached trees git dropped for lib/ and the root.
            git(root, &["read-tree", "HEAD"]);
            git(root, &["add", "lib/new.c"]);
            let data = std::fs::read(root.join(".git/index")).unwrap();
            let index = parse(&data).unwrap_or_else(|| panic!("v{version} not parsed"));
            assert_eq!(index.entries, libgit2_entries(root), "v{version}");
            assert_eq!(
                index.cached_trees.get(&b"a"[..]),
                Some(&a_tree),
                "v{version}"
            );
            assert!(!index.cached_trees.contains_key(&b"lib"[..]), "v{version}");
            assert!(!index.cached_trees.contains_key(&b""[..]), "v{version}");
        }
    }

    /// A damaged index whose path is `/x`, `x/` or `a//` (which would send the tree
    /// comparison round the same directory for ever) is left to libgit2.
    #[test]
    fn refuses_paths_that_are_not_clean() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("abc"), "x").unwrap();
        git(dir.path(), &["add", "abc"]);
        let data = std::fs::read(dir.path().join(".git/index")).unwrap();
        assert!(parse(&data).is_some());
        let at = memchr::memmem::find(&data, b"abc\0").unwrap();
        for bad in [&b"/bc"[..], b"ab/", b"a//"] {
            let mut damaged = data.clone();
            damaged[at..at + 3].copy_from_slice(bad);
            assert!(
                parse(&damaged).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        assert!(parse(b"").is_none());
        assert!(
            parse(b"DIRC\0\0\0\x09\0\0\0\0").is_none(),
            "unknown version"
        );
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x05").is_none(), "truncated");
    }
}
