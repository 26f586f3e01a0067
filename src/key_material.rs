//! Private keys in vendored code. Third-party directories (`allow::VENDORED_PATHS`) are other
//! people's code, full of their test values, so only the rules of `rules/private-keys.toml`
//! apply there: a key file is a key wherever it sits. A window without one of those rules'
//! keywords (`PRIVATE KEY-----`, …) costs one multi-pattern search and nothing else.

use aho_corasick::AhoCorasick;

use crate::rules::RulePack;

/// The rule file whose rules apply in vendored code.
const KEY_RULES_FILE: &str = "private-keys.toml";

/// Which rules of a pack find key material, and their keywords.
#[derive(Debug)]
pub struct KeyMaterial {
    /// By rule index in the pack.
    rules: Vec<bool>,
    /// The key rules' keywords; `None` when the pack has no key rule.
    markers: Option<AhoCorasick>,
}

impl KeyMaterial {
    pub fn of(pack: &RulePack) -> KeyMaterial {
        let rules: Vec<bool> = pack
            .rules()
            .iter()
            .map(|r| r.source == KEY_RULES_FILE)
            .collect();
        let keywords: Vec<&str> = pack
            .rules()
            .iter()
            .filter(|r| r.source == KEY_RULES_FILE)
            .flat_map(|r| r.keywords.iter().map(String::as_str))
            .collect();
        let markers = (!keywords.is_empty())
            .then(|| AhoCorasick::new(&keywords).expect("keywords are plain strings"));
        KeyMaterial { rules, markers }
    }

    /// Whether `bytes` hold a key rule's keyword, so that scanning them may find a key.
    pub fn may_be_in(&self, bytes: &[u8]) -> bool {
        self.markers.as_ref().is_some_and(|m| m.is_match(bytes))
    }

    /// Whether the rule at `index` finds key material.
    pub fn is_key_rule(&self, index: usize) -> bool {
        self.rules.get(index).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules_and_their_keywords_come_from_the_private_key_file() {
        let pack = RulePack::embedded().unwrap();
        let keys = KeyMaterial::of(&pack);
        let index = |id: &str| pack.rules().iter().position(|r| r.id == id).unwrap();
        assert!(keys.is_key_rule(index("private-key-pem")));
        assert!(keys.is_key_rule(index("private-key-openssh")));
        assert!(!keys.is_key_rule(index("aws-access-key-id")));
        assert!(keys.may_be_in(b"x = \"-----BEGIN RSA PRIVATE KEY-----\\n\""));
        assert!(!keys.may_be_in(b"AWS_SECRET_ACCESS_KEY=..."));
        assert!(!KeyMaterial::of(&RulePack::default()).may_be_in(b"PRIVATE KEY-----"));
    }
}
