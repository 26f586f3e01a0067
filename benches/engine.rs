//! Engine micro-benchmarks (`cargo bench`): MB/s of `Engine::scan` with the embedded pack on
//! three generated inputs — source code with no keyword, source dense with keyword hits and
//! secrets, and a minified bundle of one huge line. Whole-program speed beside the peers is the
//! benchsuite's job (`benchsuite/run`); this is for tuning the engine.
//!
//! Under `cargo test --all-targets` it runs each input once, as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use keyhound::engine::Engine;
use keyhound::rules::templates::ExampleRng;
use keyhound::rules::RulePack;

const SIZE: usize = 8 << 20;

/// C-like code without any rule keyword.
fn plain_source() -> Vec<u8> {
    let lines = [
        "static int frob_count(const struct frob *f, unsigned int flags)\n",
        "{\n",
        "\tint total = 0;\n",
        "\tfor (unsigned int i = 0; i < f->len; i++)\n",
        "\t\ttotal += f->items[i].weight * (flags & 0x3f);\n",
        "\treturn total;\n",
        "}\n\n",
    ];
    lines
        .iter()
        .cycle()
        .flat_map(|l| l.bytes())
        .take(SIZE)
        .collect()
}

/// Config-like text where every other line assigns a random value to a secret-sounding name.
fn dense_hits() -> Vec<u8> {
    let mut rng = ExampleRng::new(1);
    let mut out = Vec::with_capacity(SIZE + 128);
    while out.len() < SIZE {
        let value = rng.string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            32,
        );
        out.extend_from_slice(format!("api_key = \"{value}\"\nname = \"service\"\n").as_bytes());
    }
    out
}

/// A minified bundle: one line, identifiers and a keyword now and then.
fn minified_js() -> Vec<u8> {
    let mut rng = ExampleRng::new(2);
    let mut out = Vec::with_capacity(SIZE + 128);
    let mut n = 0u64;
    while out.len() < SIZE {
        let id = rng.string(b"abcdefghijklmnopqrstuvwxyz", 2);
        n += 1;
        if n % 500 == 0 {
            out.extend_from_slice(b"var token=e.headers.authorization;");
        }
        out.extend_from_slice(format!("function {id}(t){{return t.{id}+{n}}};").as_bytes());
    }
    out
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let engine = Engine::new(RulePack::embedded().expect("embedded pack"), 2);
    for (name, input) in [
        ("source, no hits", plain_source()),
        ("dense hits", dense_hits()),
        ("minified JS, one line", minified_js()),
    ] {
        if !benchmarking {
            black_box(engine.scan(&input[..64 << 10]));
            continue;
        }
        black_box(engine.scan(&input)); // warm-up: the lazily compiled regexes
        let started = Instant::now();
        let mut rounds = 0u32;
        while started.elapsed() < Duration::from_secs(2) {
            black_box(engine.scan(&input));
            rounds += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        let mb = (input.len() as f64 * f64::from(rounds)) / (1024.0 * 1024.0);
        println!(
            "{name:<24} {:>8.1} MB/s  ({rounds} rounds of {} MiB)",
            mb / secs,
            input.len() >> 20
        );
    }
}
