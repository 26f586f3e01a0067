#!/usr/bin/env python3
"""Build the 'history' corpus: every sdist of one PyPI package, committed in
version order into a git repository, dated from the sdist's own file times.

Run by benchsuite/setup with the corpus-fetch venv's python (it needs pip and
packaging).  Idempotent: downloads are kept in DOWNLOADS and skipped when
present; the repository is rebuilt only when missing.

usage: make_history.py PACKAGE MAX_VERSION DOWNLOADS BUILD_DIR BARE_REPO
"""
import concurrent.futures
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

from packaging.version import InvalidVersion, Version

PIP = [sys.executable, "-m", "pip"]


def log(*a):
    print("[history]", *a, flush=True)


def list_versions(pkg):
    out = subprocess.run(PIP + ["index", "versions", pkg], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Available versions:\s*(.*)", out)
    if not m:
        raise SystemExit(f"cannot parse `pip index versions {pkg}` output:\n{out}")
    vs = []
    for v in m.group(1).split(","):
        v = v.strip()
        try:
            vs.append(Version(v))
        except InvalidVersion:
            pass
    return sorted(set(vs))


def find_archive(downloads, pkg, ver):
    names = {pkg.lower(), pkg.lower().replace("-", "_")}
    for f in os.listdir(downloads):
        low = f.lower()
        for n in names:
            for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
                if low == f"{n}-{ver}{ext}".lower():
                    return os.path.join(downloads, f)
    return None


def download(pkg, ver, downloads):
    if find_archive(downloads, pkg, ver):
        return ver, True, "cached"
    cmd = PIP + ["download", "-q", "--no-deps", "--no-build-isolation",
                 "--no-binary", ":all:", "-d", downloads, f"{pkg}=={ver}"]
    for attempt in range(2):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0 and find_archive(downloads, pkg, ver):
            return ver, True, "downloaded"
    lines = [l.strip() for l in r.stderr.splitlines() if l.strip()]
    errs = [l for l in lines if re.search(r"\w(Error|Exception)\b|^ERROR", l)]
    return ver, False, (errs or lines or ["?"])[-1]


def members(path):
    """Yield (relative name, bytes, mtime) for regular files, top dir stripped."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                parts = info.filename.split("/", 1)
                if len(parts) < 2 or not parts[1]:
                    continue
                ts = time.mktime(info.date_time + (0, 0, -1))
                yield parts[1], z.read(info), ts
    else:
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue
                parts = m.name.split("/", 1)
                if len(parts) < 2 or not parts[1]:
                    continue
                yield parts[1], t.extractfile(m).read(), m.mtime


def git(*args, cwd=None, env=None):
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def build_repo(pkg, archives, build):
    if os.path.exists(build):
        shutil.rmtree(build)
    os.makedirs(build)
    git("init", "-q", "-b", "main", build)
    git("config", "core.autocrlf", "false", cwd=build)
    git("config", "gc.auto", "0", cwd=build)
    last_ts = 0
    for ver, path in archives:
        # clear the work tree but keep .git
        for entry in os.listdir(build):
            if entry == ".git":
                continue
            p = os.path.join(build, entry)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        newest = 0
        pkginfo = None
        for name, data, mtime in members(path):
            if name.startswith(".git/") or "/.git/" in name or name == ".git":
                continue
            dest = os.path.join(build, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(data)
            newest = max(newest, mtime)
            if name == "PKG-INFO":
                pkginfo = data
        # a realistic date: the newest file in the sdist (maintenance releases
        # of older series keep their own, later, dates)
        ts = int(newest) if newest > 946684800 else last_ts + 86400
        last_ts = ts
        author, email_addr = "pytest-dev", "pytest-dev@python.org"
        if pkginfo:
            meta = email.parser.BytesParser().parsebytes(pkginfo)
            a = (meta.get("Author") or "").split(",")[0].strip()
            if a and a.upper() != "UNKNOWN":
                author = a
            ae = meta.get("Author-email") or ""
            m = re.search(r"[\w.+-]+@[\w.-]+", ae)
            if m:
                email_addr = m.group(0)
        env = dict(os.environ,
                   GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL=email_addr,
                   GIT_COMMITTER_NAME=author, GIT_COMMITTER_EMAIL=email_addr,
                   GIT_AUTHOR_DATE=f"{ts} +0000", GIT_COMMITTER_DATE=f"{ts} +0000")
        git("add", "-A", cwd=build)
        git("commit", "-q", "--allow-empty", "-m", f"Release {pkg} {ver}",
            "-m", f"Imported from the PyPI sdist {os.path.basename(path)}.",
            cwd=build, env=env)
        git("tag", f"v{ver}", cwd=build, env=env)
    log(f"committed {len(archives)} releases into {build}")


def main():
    pkg, max_version, downloads, build, bare = sys.argv[1:6]
    os.makedirs(downloads, exist_ok=True)
    if os.path.exists(os.path.join(bare, "HEAD")) and os.path.exists(
            os.path.join(bare, "keyhound-bench-complete")):
        log(f"{bare} exists, nothing to do")
        return
    versions = [v for v in list_versions(pkg) if v <= Version(max_version)]
    log(f"{len(versions)} versions of {pkg} <= {max_version} on the index")
    t0 = time.time()
    ok, failed = [], []
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        for ver, good, why in ex.map(lambda v: download(pkg, str(v), downloads), versions):
            (ok if good else failed).append((ver, why))
    log(f"downloads: {len(ok)} ok, {len(failed)} failed, {time.time() - t0:.0f}s")
    for ver, why in failed:
        log(f"  skipped {ver}: {why}")
    archives = sorted(((Version(v), find_archive(downloads, pkg, v)) for v, _ in ok),
                      key=lambda x: x[0])
    build_repo(pkg, [(str(v), p) for v, p in archives], build)
    if os.path.exists(bare):
        shutil.rmtree(bare)
    git("clone", "-q", "--bare", "--no-local", build, bare)
    t0 = time.time()
    git("-C", bare, "gc", "-q", "--aggressive", "--prune=now")
    log(f"git gc --aggressive: {time.time() - t0:.0f}s")
    with open(os.path.join(bare, "keyhound-bench-skipped.json"), "w") as fh:
        json.dump({"package": pkg, "max_version": max_version,
                   "committed": [str(v) for v, _ in archives],
                   "skipped": {v: why for v, why in failed}}, fh, indent=1)
    open(os.path.join(bare, "keyhound-bench-complete"), "w").close()
    shutil.rmtree(build)


if __name__ == "__main__":
    main()
