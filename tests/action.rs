//! The composite GitHub Action (`action.yml`), parsed as YAML and checked for the mistakes
//! that only show up on a runner: an input nothing reads, a step without a shell, an
//! expression spliced into a script (a shell injection), an output of a step that does not
//! exist, flags `keyhound ci` does not take. The Scan step's script is then run with bash
//! against a real repository, as the runner would run it.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_yaml::{Mapping, Value};

fn action() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml");
    serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn mapping<'a>(value: &'a Value, key: &str) -> &'a Mapping {
    value[key]
        .as_mapping()
        .unwrap_or_else(|| panic!("`{key}` is not a mapping"))
}

fn steps(action: &Value) -> &[Value] {
    action["runs"]["steps"].as_sequence().unwrap()
}

fn string<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {value:?}"))
}

/// The step with this id.
fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    steps(action)
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no step with id `{id}`"))
}

#[test]
fn metadata_for_the_marketplace_is_present() {
    let action = action();
    assert!(!string(&action, "name").is_empty());
    assert!(!string(&action, "description").is_empty());
    let branding = &action["branding"];
    assert!(!string(branding, "icon").is_empty());
    assert!(!string(branding, "color").is_empty());
    assert_eq!(string(&action["runs"], "using"), "composite");
}

#[test]
fn every_input_is_read_and_described() {
    let action = action();
    let steps_text = serde_yaml::to_string(&action["runs"]["steps"]).unwrap();
    for (name, input) in mapping(&action, "inputs") {
        let name = name.as_str().unwrap();
        assert!(
            steps_text.contains(&format!("inputs.{name} ")),
            "input `{name}` is never read by a step"
        );
        assert!(!string(input, "description").is_empty(), "{name}");
    }
}

#[test]
fn every_run_step_has_a_shell_and_no_expression_in_its_script() {
    let action = action();
    for step in steps(&action) {
        let name = string(step, "name");
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        assert!(
            step["shell"].as_str().is_some(),
            "step `{name}` has no shell"
        );
        // An expression in a script is pasted in before the shell parses it: values go
        // through `env:` instead.
        assert!(
            !script.contains("${{"),
            "step `{name}` puts an expression in its script"
        );
        // Every variable the script reads is set by the step or by the runner.
        for var in variables(script) {
            let runner = ["RUNNER_", "GITHUB_"].iter().any(|p| var.starts_with(p));
            assert!(
                runner || step["env"][var.as_str()].as_str().is_some(),
                "step `{name}` reads ${var}, which its env does not set"
            );
        }
        let syntax = Command::new("bash").args(["-n", "-c", script]).output();
        if let Ok(syntax) = syntax {
            assert!(
                syntax.status.success(),
                "step `{name}`: {}",
                String::from_utf8_lossy(&syntax.stderr)
            );
        }
    }
}

/// Upper-case shell variables a script reads (`$NAME`, `${NAME…}`).
fn variables(script: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in script.match_indices('$') {
        let rest = script[at + 1..].trim_start_matches('{');
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

#[test]
fn outputs_come_from_the_scan_steps_outputs() {
    let action = action();
    // The outputs `keyhound ci` appends to $GITHUB_OUTPUT.
    let written = ["findings", "sarif-file"];
    for (name, output) in mapping(&action, "outputs") {
        let name = name.as_str().unwrap();
        let value = string(output, "value").trim();
        let reference = value
            .strip_prefix("${{")
            .and_then(|v| v.strip_suffix("}}"))
            .map(str::trim)
            .unwrap_or_else(|| panic!("output `{name}` is not an expression: {value}"));
        let parts: Vec<&str> = reference.split('.').collect();
        let ["steps", id, "outputs", key] = parts[..] else {
            panic!("output `{name}` is not steps.ID.outputs.KEY: {reference}");
        };
        step(&action, id);
        assert!(written.contains(&key), "keyhound ci never writes `{key}`");
    }
}

#[test]
fn the_scan_step_runs_keyhound_ci_with_flags_it_takes() {
    let action = action();
    let script = string(step(&action, "scan"), "run");
    assert!(script.contains("keyhound ci "), "{script}");
    let help = Command::new(env!("CARGO_BIN_EXE_keyhound"))
        .args(["ci", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let flags: BTreeSet<&str> = script
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--"))
        .collect();
    assert!(flags.contains("--sarif-file") && flags.contains("--fail-on"));
    for flag in flags {
        assert!(help.contains(flag), "keyhound ci takes no {flag}");
    }
    let fail_on = string(&action["inputs"]["fail-on"], "default");
    assert!(
        help.contains(&format!("[default: {fail_on}]")),
        "the fail-on input's default is keyhound's"
    );
}

/// Runs the Scan step's script with bash, as the runner would: inputs in the step's env
/// (defaults, or `inputs`), keyhound on PATH, a schedule event over a real repository.
fn run_scan_step(dir: &Path, inputs: &[(&str, &str)]) -> (i32, String, String) {
    let action = action();
    let scan = step(&action, "scan");
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(string(scan, "run")).current_dir(dir);
    for (var, value) in mapping(scan, "env") {
        let value = value.as_str().unwrap();
        // `${{ inputs.NAME }}` → the input's value, or its default.
        let input = value
            .trim_start_matches("${{ inputs.")
            .trim_end_matches(" }}");
        let given = inputs.iter().find(|(name, _)| *name == input);
        let value = match given {
            Some((_, value)) => value.to_string(),
            None => action["inputs"][input]["default"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        cmd.env(var.as_str().unwrap(), value);
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_keyhound")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    fs::write(dir.join("event.json"), "{}").unwrap();
    fs::create_dir_all(dir.join("runner-temp")).unwrap();
    let out = cmd
        .env("PATH", path)
        .env("RUNNER_TEMP", dir.join("runner-temp"))
        .env("GITHUB_EVENT_NAME", "schedule")
        .env("GITHUB_EVENT_PATH", dir.join("event.json"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_WORKSPACE", dir.join("repo"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_scan_step_script_runs_keyhound_on_a_repository() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("no bash: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&repo)
            .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
            .args(args)
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    // A Stripe-shaped test-mode key (low severity), made up here.
    let mut rng = keyhound::rules::templates::ExampleRng::new(41);
    let key = format!(
        "{}_{}_{}",
        "sk",
        "test",
        rng.string(
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            32
        )
    );
    fs::write(repo.join("t.env"), format!("STRIPE={key}\n")).unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "key"]);

    let (code, stdout, stderr) = run_scan_step(dir.path(), &[]);
    assert_eq!(code, 1, "the default fail-on is low: {stderr}");
    assert!(stdout.starts_with("::notice "), "{stdout}");
    let outputs = fs::read_to_string(dir.path().join("output")).unwrap();
    let runner_temp = dir.path().join("runner-temp");
    assert_eq!(
        outputs,
        format!(
            "findings=1\nsarif-file={}/keyhound.sarif\n",
            runner_temp.display()
        ),
        "by default the report goes outside the checkout"
    );
    assert!(runner_temp.join("keyhound.sarif").is_file());

    let inputs = [
        ("fail-on", "medium"),
        ("sarif-file", "out dir.sarif"),
        ("args", "--min-confidence  high --no-progress"),
    ];
    let (code, _, stderr) = run_scan_step(dir.path(), &inputs);
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("out dir.sarif").is_file());

    let (code, _, stderr) = run_scan_step(dir.path(), &[("args", "--no-such-flag")]);
    assert_eq!(code, 2, "{stderr}");
}
