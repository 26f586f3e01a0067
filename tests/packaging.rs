//! Packaging, end to end: the release files `scripts/package` writes, the action's Install step
//! that downloads them (run with bash from `action.yml`, against a `file://` release URL, as a
//! runner would run it), the wheel installed into a fresh virtualenv, the `language: python`
//! hook repository (`packaging/pre-commit`) run by the real pre-commit framework with no cargo
//! on PATH, and actionlint over every workflow.
//!
//! The fast tests package the keyhound this test run built (`scripts/package --binary`). A real
//! release build and a wheel take minutes, so those tests run only when
//! `KEYHOUND_TEST_PACKAGE=1`, as `.ci/run` sets it. `scripts/test` installs what they use into
//! `target/test-venv` (maturin, actionlint, pre-commit) and `target/wheelhouse` (the build
//! backend the hook repository's package needs, for installs with no index).

mod common_config;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use common_config::{acme_config, git_in, Repo, Tokens};
use serde_yaml::Value;

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The crate's version, which every release file name carries.
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn yaml(path: &Path) -> Value {
    serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `scripts/package` with `args`, files into `out`; returns the paths it printed.
fn package(args: &[&str], out: &Path) -> Vec<PathBuf> {
    let result = run(Command::new("bash")
        .arg(checkout().join("scripts/package"))
        .args(args)
        .arg("--out")
        .arg(out));
    assert!(
        result.status.success(),
        "scripts/package: {}",
        text(&result)
    );
    String::from_utf8(result.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The action's Install step

/// The runner this machine would be (`RUNNER_OS`, `RUNNER_ARCH`) and the target the action maps
/// it to, read from the step's own `case`.
fn runner() -> Option<(&'static str, &'static str)> {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        _ => return None,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        _ => return None,
    };
    Some((os, arch))
}

fn install_step() -> Value {
    let action = yaml(&checkout().join("action.yml"));
    action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("install"))
        .expect("action.yml has a step with id `install`")
        .clone()
}

/// The target triple the Install step downloads for `os-arch`.
fn action_target(os: &str, arch: &str) -> String {
    let script = install_step()["run"].as_str().unwrap().to_string();
    let label = format!("{os}-{arch}) target=");
    let at = script
        .find(&label)
        .unwrap_or_else(|| panic!("the install step has no case for {os}-{arch}"));
    script[at + label.len()..]
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap()
        .to_string()
}

/// A runner's view of one job: its temp and tool-cache directories and `$GITHUB_PATH`.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let runner = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(runner.temp()).unwrap();
        runner
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("runner temp")
    }

    fn tool_cache(&self) -> PathBuf {
        self.dir.path().join("tool cache")
    }

    fn github_path(&self) -> PathBuf {
        self.dir.path().join("github_path")
    }

    /// What the step added to `$GITHUB_PATH`.
    fn path_added(&self) -> String {
        fs::read_to_string(self.github_path()).unwrap_or_default()
    }

    /// Runs the Install step's script with bash: each `${{ inputs.NAME }}` in its env is the
    /// given input or the input's default, the `github.*` context values are given here.
    fn install(&self, inputs: &[(&str, &str)], action_ref: &str) -> (i32, String) {
        let action = yaml(&checkout().join("action.yml"));
        let step = install_step();
        let (os, arch) = runner().unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(step["run"].as_str().unwrap());
        for (var, value) in step["env"].as_mapping().unwrap() {
            let value = value.as_str().unwrap().trim();
            let value = if let Some(input) = value
                .strip_prefix("${{ inputs.")
                .and_then(|v| v.strip_suffix(" }}"))
            {
                match inputs.iter().find(|(name, _)| *name == input) {
                    Some((_, given)) => given.to_string(),
                    None => action["inputs"][input]["default"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                }
            } else {
                match value {
                    "${{ github.action_path }}" => checkout().display().to_string(),
                    "${{ github.action_repository }}" => "keyhound/keyhound".into(),
                    "${{ github.action_ref }}" => action_ref.into(),
                    other => panic!("the test does not know {other}"),
                }
            };
            cmd.env(var.as_str().unwrap(), value);
        }
        let out = run(cmd
            .current_dir(self.dir.path())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", self.temp())
            .env("RUNNER_TOOL_CACHE", self.tool_cache())
            .env("GITHUB_PATH", self.github_path()));
        (out.status.code().unwrap_or(-1), text(&out))
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A release directory as GitHub serves one (`BASE/vVERSION/FILE`), made by scripts/package
/// from the keyhound this test run built, named for the target the action asks for here.
fn local_release(root: &Path) -> (PathBuf, String) {
    let (os, arch) = runner().unwrap();
    let target = action_target(os, arch);
    let dir = root.join("releases").join(format!("v{}", version()));
    let printed = package(
        &[
            "--binary",
            env!("CARGO_BIN_EXE_keyhound"),
            "--target",
            &target,
            "--no-wheel",
        ],
        &dir,
    );
    let archive = format!("keyhound-{}-{target}.tar.gz", version());
    assert_eq!(
        printed,
        [dir.join(&archive), dir.join(format!("{archive}.sha256"))],
        "scripts/package prints the files it wrote"
    );
    (root.join("releases"), archive)
}

#[test]
fn package_script_writes_the_archive_and_checksum_the_action_reads() {
    if runner().is_none() {
        eprintln!("notice: no prebuilt target for this platform: skipped");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (releases, archive) = local_release(root.path());
    let dir = releases.join(format!("v{}", version()));

    // The binary at the archive's root, nothing else.
    let listing = run(Command::new("tar").arg("-tzf").arg(dir.join(&archive)));
    assert_eq!(String::from_utf8_lossy(&listing.stdout), "keyhound\n");
    // `HEX  NAME`, as sha256sum writes it and checks it.
    let sum = fs::read_to_string(dir.join(format!("{archive}.sha256"))).unwrap();
    let (hex, name) = sum.trim_end().split_once("  ").unwrap();
    assert!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sum}"
    );
    assert_eq!(name, archive);
    assert!(sum.ends_with('\n'));
    // sha256sum itself agrees (where it exists: macOS has shasum instead).
    let check = Command::new("sha256sum")
        .args(["--check", "--strict"])
        .arg(format!("{archive}.sha256"))
        .current_dir(&dir)
        .output();
    if let Ok(check) = check {
        assert!(check.status.success(), "{}", text(&check));
    }
}

#[test]
fn install_step_downloads_checks_and_caches_the_release() {
    if runner().is_none() {
        eprintln!("notice: no prebuilt target for this platform: skipped");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (releases, _) = local_release(root.path());
    let url = file_url(&releases);
    let inputs = [("version", version()), ("release-url", url.as_str())];

    let runner = Runner::new();
    let (code, said) = runner.install(&inputs, "main");
    assert_eq!(code, 0, "{said}");
    assert!(said.contains(&format!("keyhound {}", version())), "{said}");
    let added = runner.path_added();
    let bin_dir = PathBuf::from(added.trim_end());
    assert!(
        bin_dir.starts_with(runner.tool_cache()),
        "on PATH from the tool cache: {added}"
    );
    let installed = run(Command::new(bin_dir.join("keyhound")).arg("--version"));
    assert!(installed.status.success());

    // Cached: the next job on this runner downloads nothing (the release is gone).
    let moved = root.path().join("moved");
    fs::rename(&releases, &moved).unwrap();
    let (code, said) = runner.install(&inputs, "main");
    assert_eq!(code, 0, "from the tool cache: {said}");
    fs::rename(&moved, &releases).unwrap();

    // Pinned as `uses: keyhound/keyhound@vX.Y.Z`, the action installs that release.
    let pinned = Runner::new();
    let (code, said) = pinned.install(&[("release-url", url.as_str())], &format!("v{}", version()));
    assert_eq!(code, 0, "{said}");
    // A branch gives no version: with a mirror, the user must name one.
    let (code, said) = Runner::new().install(&[("release-url", url.as_str())], "main");
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("set 'version'"), "{said}");

    let (code, said) = Runner::new().install(&[("install", "binary")], "main");
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("'release' or 'source'"), "{said}");
}

#[test]
fn install_step_fails_closed_on_a_checksum_mismatch() {
    if runner().is_none() {
        eprintln!("notice: no prebuilt target for this platform: skipped");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (releases, archive) = local_release(root.path());
    let dir = releases.join(format!("v{}", version()));
    let url = file_url(&releases);
    let inputs = [("version", version()), ("release-url", url.as_str())];
    let sum_file = dir.join(format!("{archive}.sha256"));
    let good_sum = fs::read_to_string(&sum_file).unwrap();

    let assert_refused = |why: &str, runner: &Runner, said: &str, code: i32| {
        assert_ne!(code, 0, "{why}: installed anyway: {said}");
        assert_eq!(runner.path_added(), "", "{why}: PATH changed");
        let cached = runner.tool_cache().join("keyhound");
        let leftovers: Vec<_> = walk(&cached)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "keyhound"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{why}: a binary is left: {leftovers:?}"
        );
    };

    // The archive changed after its checksum was published (one byte appended).
    let original = fs::read(dir.join(&archive)).unwrap();
    let mut tampered = original.clone();
    tampered.push(0);
    fs::write(dir.join(&archive), &tampered).unwrap();
    let runner = Runner::new();
    let (code, said) = runner.install(&inputs, "main");
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("::error::checksum mismatch"), "{said}");
    assert_refused("tampered archive", &runner, &said, code);
    fs::write(dir.join(&archive), &original).unwrap();

    // A checksum file that is empty, or names another file.
    for (why, content) in [
        ("empty .sha256", String::new()),
        (
            "another file's checksum",
            good_sum.replace(&archive, "keyhound-other.tar.gz"),
        ),
    ] {
        fs::write(&sum_file, content).unwrap();
        let runner = Runner::new();
        let (code, said) = runner.install(&inputs, "main");
        assert_eq!(code, 2, "{why}: {said}");
        assert_refused(why, &runner, &said, code);
    }

    // No checksum published at all: the download fails, nothing is installed.
    fs::remove_file(&sum_file).unwrap();
    let runner = Runner::new();
    let (code, said) = runner.install(&inputs, "main");
    assert_refused("missing .sha256", &runner, &said, code);

    // The published pair, unchanged, installs.
    fs::write(&sum_file, &good_sum).unwrap();
    let (code, said) = Runner::new().install(&inputs, "main");
    assert_eq!(code, 0, "{said}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            }
            found.push(path);
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// The hook repository, the wheel's metadata, the workflows

#[test]
fn hook_repository_pins_this_release_and_mirrors_the_rust_hooks() {
    let dir = checkout().join("packaging/pre-commit");
    let pyproject: toml::Value =
        toml::from_str(&fs::read_to_string(dir.join("pyproject.toml")).unwrap()).unwrap();
    assert_eq!(pyproject["project"]["version"].as_str(), Some(version()));
    let deps = pyproject["project"]["dependencies"].as_array().unwrap();
    assert_eq!(
        deps.iter().map(|d| d.as_str().unwrap()).collect::<Vec<_>>(),
        [format!("keyhound=={}", version())],
        "the hook repository installs exactly this release's wheel"
    );

    // Each python hook is the rust hook of the same id, installed from the wheel instead.
    let python = yaml(&dir.join(".pre-commit-hooks.yaml"));
    let rust = yaml(&checkout().join(".pre-commit-hooks.yaml"));
    let python = python.as_sequence().unwrap();
    assert!(!python.is_empty());
    for hook in python {
        let id = hook["id"].as_str().unwrap();
        assert_eq!(hook["language"].as_str(), Some("python"), "{id}");
        let twin = rust
            .as_sequence()
            .unwrap()
            .iter()
            .find(|h| h["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no rust hook `{id}` in .pre-commit-hooks.yaml"));
        assert_eq!(twin["language"].as_str(), Some("rust"), "{id}");
        for key in [
            "entry",
            "pass_filenames",
            "require_serial",
            "stages",
            "always_run",
        ] {
            assert_eq!(hook[key], twin[key], "{id}: {key}");
        }
    }

    // The wheel: maturin's bin bindings, version from Cargo.toml.
    let root: toml::Value =
        toml::from_str(&fs::read_to_string(checkout().join("pyproject.toml")).unwrap()).unwrap();
    assert_eq!(root["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert_eq!(root["project"]["name"].as_str(), Some("keyhound"));
    assert_eq!(
        root["project"]["dynamic"].as_array().unwrap()[0].as_str(),
        Some("version")
    );
}

#[test]
fn actionlint_passes_on_every_workflow() {
    if std::env::var_os("KEYHOUND_SKIP_ACTIONLINT").is_some() {
        eprintln!("notice: KEYHOUND_SKIP_ACTIONLINT is set: actionlint skipped");
        return;
    }
    let workflows: Vec<PathBuf> = fs::read_dir(checkout().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    assert!(workflows.len() >= 2, "{workflows:?}");
    let out = Command::new("actionlint")
        .arg("-no-color")
        .args(&workflows)
        .current_dir(checkout())
        .output();
    let out = out.unwrap_or_else(|e| {
        panic!(
            "actionlint is not on PATH ({e}): run the tests with scripts/test, which installs \
             it, or set KEYHOUND_SKIP_ACTIONLINT=1"
        )
    });
    assert!(out.status.success(), "actionlint:\n{}", text(&out));
    // The project's CI runs .ci/run, and the action from this checkout.
    let ci = fs::read_to_string(checkout().join(".github/workflows/ci.yml")).unwrap();
    assert!(ci.contains("run: .ci/run"), "{ci}");
    assert!(ci.contains("uses: ./\n"), "{ci}");
}

// ---------------------------------------------------------------------------------------------
// Slow: a real release build, the wheel, the python hook

fn slow_wanted(what: &str) -> bool {
    if std::env::var_os("KEYHOUND_TEST_PACKAGE").is_none() {
        eprintln!(
            "notice: {what} needs a release build and a wheel (minutes); set \
             KEYHOUND_TEST_PACKAGE=1 to run it (.ci/run does)"
        );
        return false;
    }
    true
}

/// `scripts/package` for the host, run once per test binary: (output dir, printed files).
fn host_package() -> &'static (PathBuf, Vec<PathBuf>) {
    static BUILT: OnceLock<(PathBuf, Vec<PathBuf>)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = checkout().join("target/package-test-dist");
        if out.exists() {
            fs::remove_dir_all(&out).unwrap();
        }
        let started = Instant::now();
        let printed = package(&[], &out);
        eprintln!(
            "scripts/package (host): {:.0} s",
            started.elapsed().as_secs_f64()
        );
        (out, printed)
    })
}

fn wheel() -> PathBuf {
    let (_, printed) = host_package();
    printed
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .unwrap_or_else(|| panic!("no wheel among {printed:?}"))
        .clone()
}

#[test]
fn package_script_builds_the_host_archive_and_a_wheel_that_installs_and_scans() {
    if !slow_wanted("building the host archive and wheel") {
        return;
    }
    let (out, printed) = host_package();
    let sums: Vec<_> = printed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sha256"))
        .collect();
    assert_eq!(sums.len(), 1, "{printed:?}");
    let check = run(Command::new("sha256sum")
        .args(["--check", "--strict"])
        .arg(sums[0].file_name().unwrap())
        .current_dir(out));
    assert!(check.status.success(), "{}", text(&check));
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("keyhound-{}-py3-none-", version())),
        "{name}"
    );

    // A fresh virtualenv, no index: the wheel alone puts keyhound on its PATH.
    let venv = tempfile::tempdir().unwrap();
    let made = run(Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path()));
    assert!(made.status.success(), "{}", text(&made));
    let bin = venv.path().join("bin");
    let pip = run(Command::new(bin.join("pip"))
        .args([
            "install",
            "--quiet",
            "--no-index",
            "--disable-pip-version-check",
        ])
        .arg(&wheel));
    assert!(pip.status.success(), "{}", text(&pip));
    let version_out = run(Command::new(bin.join("keyhound")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version_out.stdout).trim(),
        format!("keyhound {}", version())
    );

    let tree = tempfile::tempdir().unwrap();
    let secret = Tokens::new(31).api();
    fs::write(tree.path().join("keyhound.toml"), acme_config("")).unwrap();
    fs::write(
        tree.path().join("deploy.env"),
        format!("ACME_TOKEN={secret}\n"),
    )
    .unwrap();
    let scan = run(Command::new(bin.join("keyhound"))
        .args(["dir", "--no-progress", "--color", "never", "."])
        .current_dir(tree.path()));
    let said = text(&scan);
    assert_eq!(scan.status.code(), Some(1), "{said}");
    assert!(said.contains("deploy.env:1"), "{said}");
    assert!(said.contains("ACME API token"), "{said}");
    assert!(!said.contains(&secret), "raw secret printed:\n{said}");
}

/// The hook repository as the framework clones it: `packaging/pre-commit` committed on its own.
fn python_hooks_repo() -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyhound-python-hooks-repo");
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(checkout().join("packaging/pre-commit")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    git_in(&dir, &["init", "-q", "-b", "main"]);
    git_in(&dir, &["add", "-A"]);
    git_in(&dir, &["commit", "-q", "-m", "snapshot"]);
    let rev = git_in(&dir, &["rev-parse", "HEAD"]);
    (dir, rev.trim().to_string())
}

/// Directories for PATH that hold pre-commit and the system's tools, and no cargo.
fn path_without_cargo() -> std::ffi::OsString {
    let pre_commit_dir = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .find(|d| d.join("pre-commit").is_file())
        .expect("pre-commit on PATH: run the tests with scripts/test");
    let dirs = [pre_commit_dir, "/usr/bin".into(), "/bin".into()];
    for dir in &dirs {
        assert!(!dir.join("cargo").exists(), "cargo in {}", dir.display());
    }
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn python_hook_installs_the_wheel_without_cargo_and_gates_real_commits() {
    if !slow_wanted("the language: python hook test") {
        return;
    }
    let wheelhouse = checkout().join("target/wheelhouse");
    assert!(
        fs::read_dir(&wheelhouse).is_ok_and(|mut d| d.next().is_some()),
        "no build backend in {}: run the tests with scripts/test",
        wheelhouse.display()
    );
    let dist = wheel().parent().unwrap().to_path_buf();
    let (hooks, rev) = python_hooks_repo();
    let home = tempfile::tempdir().unwrap();

    let repo = Repo::new();
    repo.write("keyhound.toml", &acme_config(""));
    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: keyhound\n",
            hooks.display()
        ),
    );
    repo.commit("init");
    let path = path_without_cargo();
    let in_repo = |program: &str, args: &[&str]| {
        run(Command::new(program)
            .args(args)
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", home.path())
            // The wheel from this build, and nothing from an index.
            .env("PIP_NO_INDEX", "1")
            .env(
                "PIP_FIND_LINKS",
                format!("{} {}", dist.display(), wheelhouse.display()),
            )
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("NO_COLOR", "1")
            .env_remove("CARGO")
            .env_remove("RUSTC"))
    };

    let started = Instant::now();
    let out = in_repo("pre-commit", &["install", "--install-hooks"]);
    let took = started.elapsed();
    assert!(out.status.success(), "pre-commit install: {}", text(&out));
    eprintln!(
        "pre-commit install --install-hooks (language: python, from the wheel): {:.1} s",
        took.as_secs_f64()
    );

    let secret = Tokens::new(32).api();
    repo.write("service.env", &format!("ACME_TOKEN={secret}\n"));
    repo.git(&["add", "service.env"]);
    let out = in_repo("git", &["commit", "-q", "-m", "add token"]);
    let said = text(&out);
    assert!(!out.status.success(), "a secret got committed:\n{said}");
    assert!(said.contains("service.env:1"), "{said}");
    assert!(said.contains("ACME API token"), "{said}");
    assert!(!said.contains(&secret), "raw secret printed:\n{said}");

    repo.write("service.env", "ACME_TOKEN=${ACME_TOKEN}\n");
    repo.git(&["add", "service.env"]);
    let out = in_repo("git", &["commit", "-q", "-m", "token from env"]);
    assert!(
        out.status.success(),
        "a clean commit was blocked:\n{}",
        text(&out)
    );
}
