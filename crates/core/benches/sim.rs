//! Simulator throughput: events per second and complete R1 runs per second,
//! how the cost grows with CPUs, threads and memory, and what writeback, the
//! journal and a crash with recovery cost. See BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use oomlab_core::{parse_scenario, presets, ChoiceSource, Sim};

fn r1_with(cpus: u32, writers: u32, mem_mb: u64) -> String {
    let base = presets::find("r1").unwrap().text;
    base.replace("cpus = 8", &format!("cpus = {cpus}"))
        .replace(
            "sockets = 2",
            if cpus >= 2 {
                "sockets = 2"
            } else {
                "sockets = 1"
            },
        )
        .replace("count = 8", &format!("count = {writers}"))
        .replace("memory = \"64M\"", &format!("memory = \"{mem_mb}M\""))
}

fn steps_of(text: &str, seed: u64) -> u64 {
    let sc = parse_scenario(text).unwrap();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
    sim.run_to_end(u64::MAX).steps
}

fn bench(c: &mut Criterion) {
    let r1 = presets::find("r1").unwrap().text.to_string();
    let mut g = c.benchmark_group("r1");
    g.sample_size(10);
    g.throughput(Throughput::Elements(steps_of(&r1, 0)));
    g.bench_function("run_seed0_events", |b| {
        let sc = parse_scenario(&r1).unwrap();
        b.iter(|| Sim::new(&sc, ChoiceSource::Seed(0)).run_to_end(u64::MAX))
    });
    g.finish();

    // The disk model: writeback, journal commits (ordered waits, journaled
    // data), a crash and its recovery, XFS's log and btrfs's transactions.
    let r5 = presets::find("r5").unwrap().text.to_string();
    let mut g = c.benchmark_group("fs");
    g.sample_size(10);
    for (name, text) in [
        (
            "r3/ext4_ordered",
            presets::find("r3").unwrap().text.to_string(),
        ),
        ("r5/ext4_writeback_crash", r5.clone()),
        (
            "r5/ext4_journal_crash",
            r5.replace("data = \"writeback\"", "data = \"journal\""),
        ),
        (
            "r5/xfs_crash",
            r5.replace("type = \"ext4\"\ndata = \"writeback\"", "type = \"xfs\""),
        ),
        (
            "r5-nocrash/unmount",
            presets::find("r5-nocrash").unwrap().text.to_string(),
        ),
    ] {
        let sc = parse_scenario(&text).unwrap();
        g.throughput(Throughput::Elements(steps_of(&text, 0)));
        g.bench_with_input(BenchmarkId::from_parameter(name), &sc, |b, sc| {
            b.iter(|| Sim::new(sc, ChoiceSource::Seed(0)).run_to_end(u64::MAX))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    for (name, text) in [
        ("cpus/1", r1_with(1, 8, 64)),
        ("cpus/8", r1_with(8, 8, 64)),
        ("cpus/64", r1_with(64, 8, 64)),
        ("threads/8", r1_with(8, 8, 64)),
        ("threads/64", r1_with(8, 64, 64)),
        ("threads/512", r1_with(8, 512, 64)),
        ("memory/64M", r1_with(8, 8, 64)),
        ("memory/256M", r1_with(8, 8, 256)),
        ("memory/1G", r1_with(8, 8, 1024)),
    ] {
        let sc = parse_scenario(&text).unwrap();
        g.throughput(Throughput::Elements(steps_of(&text, 0)));
        g.bench_with_input(BenchmarkId::from_parameter(name), &sc, |b, sc| {
            b.iter(|| Sim::new(sc, ChoiceSource::Seed(0)).run_to_end(u64::MAX))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
