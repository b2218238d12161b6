//! How reading and validating scale with the size of the input:
//! `cargo run --release -p oomlab-core --example input_scale`.
//!
//! Two inputs, each at a tenth of its size and at full size, so that the ratio
//! between the two times shows linear (about 10x) or quadratic (about 100x)
//! growth:
//! - `processes N`: N `[[process]]` tables, each with an out-of-range
//!   `oom_score_adj`, so that validation reports (and locates) N errors;
//! - `keys N`: a `[programs]` table of N keys, each an empty program (80,000 of them are
//!   about 900 KB, within the 1 MiB cap on a scenario text).
//!
//! Prints one line per input: the wall time in ms (the best of three runs, or one run when
//! it takes over a second)
//! and the number of errors reported.
// A wall-clock measurement of the reader, outside the model: the clock ban of
// `clippy.toml` is for the model's code.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use oomlab_core::parse_scenario;
use std::time::Instant;

const HEAD: &str = "version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n";

fn processes(n: usize) -> String {
    let mut t = String::from(HEAD);
    for i in 0..n {
        t.push_str(&format!(
            "\n[[process]]\nname = \"p{i}\"\noom_score_adj = 5000\n\n[[process.thread]]\nprogram = \"hog\"\n"
        ));
    }
    t
}

fn keys(n: usize) -> String {
    let mut t = String::from(HEAD);
    t.push_str("\n[[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"p0\"\n\n[programs]\n");
    for i in 0..n {
        t.push_str(&format!("p{i} = \"\"\n"));
    }
    t
}

fn time(text: &str) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut errors = 0;
    for i in 0..3 {
        // A slow input once is enough to see it is slow.
        if i > 0 && best > 1000.0 {
            break;
        }
        let t0 = Instant::now();
        let r = parse_scenario(text);
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
        errors = r.err().map_or(0, |e| e.len());
    }
    (best, errors)
}

fn main() {
    for (what, make, n) in [
        ("processes", processes as fn(usize) -> String, 10_000usize),
        ("keys", keys, 80_000),
    ] {
        for n in [n / 10, n] {
            let text = make(n);
            let (ms, errors) = time(&text);
            println!("{what} {n}: {ms:.1} ms, {errors} errors");
        }
    }
}
