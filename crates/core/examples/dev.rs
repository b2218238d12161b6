//! Development driver: `cargo run --release --example dev -- <preset|file.toml> [seeds] [trace]`,
//! where `seeds` is a count (`1000`: seeds 0..1000) or a range (`6..7`).
use oomlab_core::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = args.get(1).map(|s| s.as_str()).unwrap_or("r1");
    let (from, seeds) = match args.get(2).map(|s| s.split_once("..")) {
        Some(Some((a, b))) => (a.parse().unwrap(), b.parse().unwrap()),
        _ => (0, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10)),
    };
    let trace = args.get(3).is_some();
    let sc = if id.ends_with(".toml") {
        parse_scenario(&std::fs::read_to_string(id).unwrap()).unwrap()
    } else {
        presets::find(id).unwrap().load()
    };
    let mut hist = std::collections::BTreeMap::new();
    for seed in from..seeds {
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let r = sim.run_to_end(u64::MAX);
        if trace {
            print!("{}", trace::trace_text(sim.trace()));
        }
        let codes: Vec<&str> = r.outcomes.iter().map(|o| o.code()).collect();
        println!(
            "seed {seed}: {:?} end={:?} t={} steps={} {}",
            codes,
            r.end,
            r.end_time,
            r.steps,
            r.explain()
        );
        for o in r.outcomes {
            *hist.entry(o.code()).or_insert(0) += 1;
        }
    }
    println!("{hist:?}");
}
