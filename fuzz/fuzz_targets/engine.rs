//! Arbitrary bytes through everything that reads scanned content: every rule of the embedded
//! pack (the engine, decoding included), the entropy, placeholder and benign-shape filters, the
//! base64 decoder, text sniffing, and the scanner's findings (context redaction, line index).
//! None of it may panic, whatever the bytes.

#![no_main]

use std::sync::OnceLock;

use keyhound::allow::Allowlist;
use keyhound::engine::{accepts, benign, decode, entropy, placeholder, random_part, Engine};
use keyhound::finding::{redact, SecretInfo};
use keyhound::remediate::Exposure;
use keyhound::rules::{Confidence, RulePack};
use keyhound::scan::{ReportPolicy, Scanner};
use keyhound::source::window;
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(RulePack::embedded().expect("embedded pack loads"), 2))
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    for m in engine.scan(data) {
        assert!(m.span.start <= m.span.end && m.span.end <= data.len());
        let rule = engine.rule(m.rule);
        let prefix = m.secret.len() - random_part(rule, &m.secret).len();
        let _ = accepts(rule, &m.secret);
        let _ = redact(&m.secret, prefix);
        let _ = SecretInfo::new(&m.secret, prefix, false);
    }

    let _ = entropy::shannon(data);
    let _ = entropy::pool_bits(data);
    let _ = placeholder::is_placeholder(data);
    let _ = benign::plausible_generic_secret(data);
    let (name, value) = data.split_at(data.len() / 2);
    let _ = benign::generic_candidate(name, value);
    for span in decode::candidates(data) {
        let _ = decode::decode(&data[span]);
    }

    for show_secrets in [false, true] {
        let allowlist = Allowlist::default();
        let scanner = Scanner::new(
            engine,
            &allowlist,
            ReportPolicy {
                show_secrets,
                include_public: false,
                min_confidence: Confidence::Medium,
                exposure: Exposure::Unknown,
            },
        );
        let _ = scanner.scan_chunk("fuzz.txt", data);
    }
    let _ = window::for_each_window(&mut &data[..], &mut |w| {
        assert!(w.owned.end <= w.text.len());
    });
});
