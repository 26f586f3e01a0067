//! Runs rules against their own examples: every `examples` entry must match and no
//! `negative_examples` entry may. Used by `cargo test` and `keyhound rules check`.

use super::templates::{expand, ExampleRng};
use super::{Rule, RulePack};
use crate::engine::Engine;

/// Checks each rule in isolation (its own prefilter included); returns one message per failure.
pub fn check_examples(rules: &[Rule]) -> Vec<String> {
    let mut failures = Vec::new();
    for rule in rules {
        if let Err(e) = rule.compile() {
            failures.push(format!(
                "{}: {}: regex does not compile: {e}",
                rule.source, rule.id
            ));
            continue;
        }
        if rule.examples.is_empty() {
            failures.push(format!("{}: {}: has no examples", rule.source, rule.id));
        }
        let mut pack = RulePack::default();
        pack.upsert(rule.clone());
        let engine = Engine::new(pack, 2);
        let mut rng = ExampleRng::new(0x6b65_7968_6f75_6e64);
        for (example, should_match) in rule
            .examples
            .iter()
            .map(|e| (e, true))
            .chain(rule.negative_examples.iter().map(|e| (e, false)))
        {
            let text = match expand(example, &mut rng) {
                Ok(text) => text,
                Err(e) => {
                    failures.push(format!("{}: {}: {e}", rule.source, rule.id));
                    continue;
                }
            };
            let matched = !engine.scan(text.as_bytes()).is_empty();
            if matched != should_match {
                let what = if should_match {
                    "example does not match"
                } else {
                    "negative example matches"
                };
                failures.push(format!("{}: {}: {what}: {example:?}", rule.source, rule.id));
            }
        }
    }
    failures
}
