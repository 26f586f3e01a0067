#!/usr/bin/env python3
"""Build the 'audit' corpus: an organisation of generated repositories, for `keyhound git
--repos-from` against one process per repository.

  small/r0000 … small/r0999   1,000 bare repositories of 3 commits and ~8 small files each;
                              one in ten holds a Stripe-shaped live key (generated here)
  large/l0 … l4               5 bare repositories of 600 commits of 10 files (~4 KB each)
  small.txt                   the small repositories, one path a line
  mix.txt                     the large ones and the first 200 small ones

Each repository is written by one `git fast-import` (no work tree, no checkout), so building
1,000 takes seconds, not minutes. No network; the content is a fixed function of the seed.
Idempotent: a repository whose `.complete` marker exists is kept.

usage: make_org.py DIR [SMALL]        (default 1000 small repositories)
"""
import os
import random
import string
import subprocess
import sys

BASE62 = string.digits + string.ascii_letters
WHEN = 1_700_000_000


def blob(text):
    data = text.encode()
    return b"data %d\n" % len(data) + data + b"\n"


def commit_stream(commits):
    """A fast-import stream: `commits` is a list of {path: text}, applied in order on main."""
    out = bytearray()
    for i, files in enumerate(commits):
        out += b"commit refs/heads/main\n"
        out += b"committer Bench <bench@example.com> %d +0000\n" % (WHEN + i * 3600)
        out += blob(f"Commit {i}")
        for path, text in files.items():
            out += b"M 100644 inline " + path.encode() + b"\n" + blob(text)
        out += b"\n"
    return bytes(out)


def build(path, commits):
    if os.path.exists(os.path.join(path, ".complete")):
        return
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", path], check=True)
    subprocess.run(["git", "-C", path, "fast-import", "--quiet"], input=commit_stream(commits),
                   check=True)
    open(os.path.join(path, ".complete"), "w").close()


def token(rng):
    return "sk_" + "live_" + "".join(rng.choice(BASE62) for _ in range(32))


def small_repo(rng, n):
    files = {f"src/mod{j}.py": f"# module {j} of repo {n}\nVALUE = {rng.randrange(10**9)}\n"
             for j in range(6)}
    files["README.md"] = f"# repo {n}\n"
    later = {"src/mod0.py": files["src/mod0.py"] + "# changed\n"}
    last = {"config/settings.env": f"DEBUG=false\nSEED={rng.randrange(10**9)}\n"}
    if n % 10 == 0:
        last["config/settings.env"] += f"STRIPE_SECRET_KEY={token(rng)}\n"
    return [files, later, last]


WORDS = ("the quick brown fox jumps over lazy dog return value config service request "
         "handler error result module import class def self none true false").split()


def large_repo(rng, n):
    commits = []
    for c in range(600):
        files = {f"pkg{c % 20}/file{(c * 7 + j) % 200}.py":
                 f"# version {c}.{j} of repo {n}\n" + " ".join(rng.choices(WORDS, k=700)) + "\n"
                 for j in range(10)}
        if c % 150 == 7:
            files[f"deploy/{c}.env"] = f"STRIPE_SECRET_KEY={token(rng)}\n"
        commits.append(files)
    return commits


def main():
    root = sys.argv[1]
    small = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(19)
    os.makedirs(os.path.join(root, "small"), exist_ok=True)
    os.makedirs(os.path.join(root, "large"), exist_ok=True)
    smalls = []
    for n in range(small):
        path = os.path.join(root, "small", f"r{n:04d}")
        build(path, small_repo(rng, n))
        smalls.append(path)
    larges = []
    for n in range(5):
        path = os.path.join(root, "large", f"l{n}")
        build(path, large_repo(rng, n))
        larges.append(path)
    with open(os.path.join(root, "small.txt"), "w") as fh:
        fh.write("\n".join(smalls) + "\n")
    with open(os.path.join(root, "mix.txt"), "w") as fh:
        fh.write("\n".join(larges + smalls[:200]) + "\n")


if __name__ == "__main__":
    main()
