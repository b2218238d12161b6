//! What a window run costs next to a whole run, for cachegrind:
//! `valgrind --tool=cachegrind --cache-sim=no target/release/examples/window_cost MODE`
//! with MODE `full` (R1 seed 1 to its end), `unseen` (the same, keeping no
//! trace text, as an exploration's runs do), `prefix` (R1 seed 1 to its kill
//! checkpoint) or `window N` (the checkpoint, then N window runs with fresh
//! seeds). (window N − prefix) / N is one window run.
use oomlab_core::window::{checkpoint, Window};
use oomlab_core::{presets, ChoiceSource, Sim};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sc = presets::find("r1").expect("r1").load();
    let kill = Window::parse("kill").expect("kill");
    match args.get(1).map(String::as_str) {
        Some("full") => {
            let r = Sim::new(&sc, ChoiceSource::Seed(1)).run_to_end(u64::MAX);
            println!("steps {}", r.steps);
        }
        Some("unseen") => {
            let mut sim = Sim::new(&sc, ChoiceSource::Seed(1));
            sim.drop_trace_text();
            let r = sim.run_to_end(u64::MAX);
            println!("steps {}", r.steps);
        }
        Some("prefix") => {
            let cp = checkpoint(&sc, 1, &kill).expect("seed 1 kills");
            println!("at {}", cp.recorded_choices().len());
        }
        Some("window") => {
            let n: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
            let cp = checkpoint(&sc, 1, &kill).expect("seed 1 kills");
            let mut events = 0;
            for i in 0..n {
                let mut s = cp.clone();
                s.enter_window(Some(i), Vec::new());
                events += s.run_to_end(u64::MAX).steps;
            }
            println!("events {events}");
        }
        _ => eprintln!("usage: window_cost full | unseen | prefix | window N"),
    }
}
