//! Embeds the rule pack in the binary, parsed at build time: every `rules/*.toml` file is read
//! with the same schema the runtime uses (`src/rules/schema.rs`) and written out as static
//! Rust data, so starting keyhound parses no TOML. A rule file that does not parse fails the
//! build with the file named.

use std::fmt::Write as _;
use std::{env, fs, path::Path};

#[path = "src/rules/schema.rs"]
#[allow(dead_code)] // the build uses the rule shape, not the whole module
mod schema;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=src/rules/schema.rs");
    let mut files: Vec<_> = fs::read_dir("rules")
        .expect("rules/ directory")
        .map(|e| e.expect("rules/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The embedded rule pack, as written in `rules/*.toml`: (file name, rules).\n\
         pub static EMBEDDED_RULES: &[(&str, &[EmbeddedRule])] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(path).expect("readable rule file");
        let parsed: schema::RawRuleFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("rules/{name}: {e}"));
        writeln!(out, "    ({name:?}, &[").unwrap();
        for rule in &parsed.rule {
            write_rule(&mut out, rule);
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    fs::write(dest, out).unwrap();
}

/// One `EmbeddedRule` literal. `{:?}` of a string is a valid Rust string literal.
fn write_rule(out: &mut String, r: &schema::RawRule) {
    let list = |items: &[String]| format!("&{items:?}");
    let opt_str = |v: &Option<String>| match v {
        Some(s) => format!("Some({s:?})"),
        None => "None".into(),
    };
    let opt_f64 = |v: Option<f64>| match v {
        Some(x) => format!("Some({x:?})"),
        None => "None".into(),
    };
    writeln!(
        out,
        "        EmbeddedRule {{ id: {:?}, name: {:?}, provider: {:?}, description: {:?}, \
         keywords: {}, regex: {:?}, severity: {:?}, confidence: {:?}, revoke_url: {:?}, \
         rotation: {}, examples: {}, negative_examples: {}, min_entropy_bits: {}, \
         min_shannon: {}, checksum: {}, public: {}, multiline: {}, kind: {}, validate: {} }},",
        r.id,
        r.name,
        r.provider,
        r.description,
        list(&r.keywords),
        r.regex,
        r.severity,
        r.confidence,
        r.revoke_url,
        list(&r.rotation),
        list(&r.examples),
        list(&r.negative_examples),
        opt_f64(r.min_entropy_bits),
        opt_f64(r.min_shannon),
        opt_str(&r.checksum),
        r.public,
        r.multiline,
        opt_str(&r.kind),
        validator(r.validate.as_ref()),
    )
    .unwrap();
}

/// An `Option<EmbeddedValidator>` literal.
fn validator(v: Option<&schema::RawValidator>) -> String {
    let Some(v) = v else {
        return "None".into();
    };
    let opt_str = |v: &Option<String>| match v {
        Some(s) => format!("Some({s:?})"),
        None => "None".into(),
    };
    let pairs = |map: &std::collections::BTreeMap<String, String>| {
        let items: Vec<String> = map.iter().map(|(k, v)| format!("({k:?}, {v:?})")).collect();
        format!("&[{}]", items.join(", "))
    };
    format!(
        "Some(EmbeddedValidator {{ docs: {:?}, code: {}, method: {}, url: {}, headers: {}, \
         basic_auth: &{:?}, body: {}, live: &{:?}, invalid: &{:?}, ok: {}, error: {}, \
         invalid_errors: &{:?}, identity: {}, companion: {} }})",
        v.docs,
        opt_str(&v.code),
        opt_str(&v.method),
        opt_str(&v.url),
        pairs(&v.headers),
        v.basic_auth,
        opt_str(&v.body),
        v.live,
        v.invalid,
        opt_str(&v.ok),
        opt_str(&v.error),
        v.invalid_errors,
        pairs(&v.identity),
        opt_str(&v.companion),
    )
}
