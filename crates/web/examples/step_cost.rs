//! Step-through cost, natively: the state after step k by replaying from
//! step 0, against cloning the nearest checkpoint and stepping from there.
//! `cargo run --release -p oomlab-web --example step_cost [preset] [seed] [every]`
//! (one checkpoint spacing per process, so that the resident-memory
//! difference is that stepper's alone).
use oomlab_core::{presets, ChoiceSource, Sim};
use oomlab_web::stepper::Stepper;
use std::time::Instant;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = args.get(1).map_or("r1", |s| s.as_str());
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let sc = presets::find(id).expect("a preset").load();
    let src = ChoiceSource::Seed(seed);
    let t = Instant::now();
    let r = oomlab_core::run(&sc, src.clone());
    let full = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{id} seed {seed}: {} steps, whole run {full:.1} ms",
        r.steps
    );
    // Positions spread over the run.
    let ks: Vec<u64> = (1..=16).map(|i| r.steps * i / 17).collect();
    let t = Instant::now();
    for &k in &ks {
        let mut sim = Sim::new(&sc, src.clone());
        for _ in 0..k {
            sim.step();
        }
        let _ = sim.snapshot();
    }
    let replay = t.elapsed().as_secs_f64() * 1e3 / ks.len() as f64;
    println!("replay from step 0 to k, plus a snapshot: {replay:.1} ms on average");
    let spacings: Vec<u64> = match args.get(3).and_then(|s| s.parse().ok()) {
        Some(e) => vec![e],
        None => vec![1024, 4096, 16384],
    };
    for every in spacings {
        let before = rss_kb();
        let t = Instant::now();
        let st = Stepper::new(&sc, &src, every);
        let build = t.elapsed().as_secs_f64() * 1e3;
        let mem = rss_kb().saturating_sub(before);
        let t = Instant::now();
        for &k in &ks {
            let _ = st.state_at(k, None);
        }
        let at = t.elapsed().as_secs_f64() * 1e3 / ks.len() as f64;
        println!(
            "checkpoints every {every:>5} steps: {:>3} checkpoints, build {build:.1} ms, ~{} MB resident, state at k {at:.2} ms on average",
            st.checkpoints(),
            mem / 1024
        );
        drop(st);
    }
}
