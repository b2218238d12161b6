//! The text that crosses between the page and its Web Workers: exploration
//! reports, choice sources and shrink results, line by line. A plain format
//! rather than JSON keeps u64 values (trace hashes, seeds) exact, which a
//! JavaScript number would not, and adds no serializer to the bundle.
//!
//! Not covered: anything a worker does not send (run views, traces); those are
//! rebuilt on the page from the (scenario, choices) a result names.

use oomlab_core::explore::{Bucket, ExploreReport, RunRef};
use oomlab_core::shrink::CriticalChoice;
use oomlab_core::window::WindowReport;
use oomlab_core::ChoiceSource;

fn list(v: &[u32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_list(s: &str) -> Result<Vec<u32>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|x| x.parse().map_err(|_| format!("bad number `{x}`")))
        .collect()
}

/// `s:SEED`, `r:SEED:v,v,...`, `d:SEED:i,v,i,v,...` or
/// `w:SEED:AT:RESEED|-:i,v,...` (a window run).
pub fn source_to_text(s: &ChoiceSource) -> String {
    match s {
        ChoiceSource::Seed(seed) => format!("s:{seed}"),
        ChoiceSource::Replay { seed, choices } => format!("r:{seed}:{}", list(choices)),
        ChoiceSource::Deviations { seed, devs } => {
            let flat: Vec<u32> = devs.iter().flat_map(|(i, v)| [*i, *v]).collect();
            format!("d:{seed}:{}", list(&flat))
        }
        ChoiceSource::Window {
            seed,
            at,
            reseed,
            devs,
        } => {
            let flat: Vec<u32> = devs.iter().flat_map(|(i, v)| [*i, *v]).collect();
            let r = reseed.map_or("-".to_string(), |r| r.to_string());
            format!("w:{seed}:{at}:{r}:{}", list(&flat))
        }
    }
}

pub fn source_from_text(t: &str) -> Result<ChoiceSource, String> {
    if let Some(w) = t.strip_prefix("w:") {
        let bad = || format!("bad window source `{t}`");
        let p: Vec<&str> = w.splitn(4, ':').collect();
        let [seed, at, reseed, devs] = p[..] else {
            return Err(bad());
        };
        let flat = parse_list(devs)?;
        if flat.len() % 2 != 0 {
            return Err(bad());
        }
        return Ok(ChoiceSource::Window {
            seed: seed.parse().map_err(|_| bad())?,
            at: at.parse().map_err(|_| bad())?,
            reseed: match reseed {
                "-" => None,
                r => Some(r.parse().map_err(|_| bad())?),
            },
            devs: flat.chunks(2).map(|c| (c[0], c[1])).collect(),
        });
    }
    let mut it = t.splitn(3, ':');
    let kind = it.next().unwrap_or("");
    let seed: u64 = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad seed in `{t}`"))?;
    let rest = parse_list(it.next().unwrap_or(""))?;
    match kind {
        "s" => Ok(ChoiceSource::Seed(seed)),
        "r" => Ok(ChoiceSource::Replay {
            seed,
            choices: rest,
        }),
        "d" if rest.len() % 2 == 0 => Ok(ChoiceSource::Deviations {
            seed,
            devs: rest.chunks(2).map(|c| (c[0], c[1])).collect(),
        }),
        _ => Err(format!("bad choice source `{t}`")),
    }
}

pub fn report_to_text(r: &ExploreReport) -> String {
    let mut s = String::with_capacity(256 + r.state_hashes.len() * 17);
    s.push_str(&format!(
        "strategy {}\nruns {}\ndistinct {}\nchoices {}\npruned {}\n",
        r.strategy, r.runs, r.distinct_states, r.choice_points, r.pruned
    ));
    for (k, v) in &r.histogram {
        s.push_str(&format!("h {v} {k}\n"));
    }
    s.push_str("states");
    for h in &r.state_hashes {
        s.push_str(&format!(" {h:x}"));
    }
    s.push('\n');
    for b in &r.buckets {
        s.push_str(&format!("b {} {}\n", b.count, b.signature));
        for f in &b.first {
            s.push_str(&format!(
                "f {} {} {}\n",
                f.index,
                source_to_text(&f.source),
                f.outcomes.join(",")
            ));
        }
    }
    s
}

/// A window piece: `window REACHED COMPLETE`, then its report.
pub fn window_piece_to_text(r: &ExploreReport, w: &WindowReport) -> String {
    format!("window {} {}\n{}", w.reached, w.complete, report_to_text(r))
}

/// The report and the window report (only `reached` and `complete` cross;
/// the page knows the rest).
pub fn window_piece_from_text(t: &str) -> Result<(ExploreReport, WindowReport), String> {
    let (head, body) = t.split_once('\n').unwrap_or((t, ""));
    let bad = || format!("bad window piece header `{head}`");
    let mut it = head.split(' ');
    if it.next() != Some("window") {
        return Err(bad());
    }
    let reached = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let complete = match it.next() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(bad()),
    };
    let w = WindowReport {
        reached,
        complete,
        ..Default::default()
    };
    Ok((report_from_text(body)?, w))
}

pub fn report_from_text(t: &str) -> Result<ExploreReport, String> {
    let mut r = ExploreReport::default();
    let num = |v: &str| v.parse::<u64>().map_err(|_| format!("bad number `{v}`"));
    for line in t.lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "strategy" => r.strategy = v.to_string(),
            "runs" => r.runs = num(v)?,
            "distinct" => r.distinct_states = num(v)?,
            "choices" => r.choice_points = num(v)?,
            "pruned" => r.pruned = num(v)?,
            "h" => {
                let (n, code) = v.split_once(' ').ok_or("bad histogram line")?;
                r.histogram.insert(code.to_string(), num(n)?);
            }
            "states" => {
                for h in v.split_whitespace() {
                    r.state_hashes.push(
                        u64::from_str_radix(h, 16).map_err(|_| format!("bad state hash `{h}`"))?,
                    );
                }
            }
            "b" => {
                let (n, sig) = v.split_once(' ').ok_or("bad bucket line")?;
                r.buckets.push(Bucket {
                    signature: sig.to_string(),
                    count: num(n)?,
                    first: Vec::new(),
                });
            }
            "f" => {
                let mut p = v.splitn(3, ' ');
                let index = num(p.next().unwrap_or(""))?;
                let source = source_from_text(p.next().unwrap_or(""))?;
                let outcomes = p
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect();
                r.buckets
                    .last_mut()
                    .ok_or("a run before its bucket")?
                    .first
                    .push(RunRef {
                        index,
                        source,
                        outcomes,
                    });
            }
            "" => {}
            _ => return Err(format!("unknown line `{k}`")),
        }
    }
    Ok(r)
}

/// What a shrink in a worker hands back: enough to replay the shrunk run.
#[derive(Clone, Debug)]
pub struct ShrinkReply {
    /// Canonical text of the (possibly smaller) scenario of the shrunk run.
    pub scenario: String,
    pub source: ChoiceSource,
    pub critical: Vec<CriticalChoice>,
    pub minimal: bool,
    pub runs: u64,
    pub original_choices: u64,
    pub original_deviations: u64,
    pub threads_before: u32,
    pub threads_after: u32,
}

/// Critical choices compare by value (core's type has no `PartialEq`).
pub fn same_critical(a: &[CriticalChoice], b: &[CriticalChoice]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.index == y.index
                && x.value == y.value
                && x.kind == y.kind
                && x.options == y.options
                && x.near_event == y.near_event
        })
}

impl PartialEq for ShrinkReply {
    fn eq(&self, o: &Self) -> bool {
        self.scenario == o.scenario
            && self.source == o.source
            && same_critical(&self.critical, &o.critical)
            && self.minimal == o.minimal
            && self.runs == o.runs
            && self.original_choices == o.original_choices
            && self.original_deviations == o.original_deviations
            && self.threads_before == o.threads_before
            && self.threads_after == o.threads_after
    }
}

impl ShrinkReply {
    /// Shrinks the run of `text` with `source` to the fewest decisions that
    /// keep `target` (what a worker runs). `progress` gets the test runs so far.
    pub fn compute(
        text: &str,
        source: &ChoiceSource,
        target: &str,
        max_runs: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ShrinkReply, String> {
        let sc = oomlab_core::parse_scenario(text).map_err(|e| crate::view::errors_line(&e))?;
        let outcome = oomlab_core::Outcome::from_code(target)
            .ok_or_else(|| format!("unknown outcome `{target}`"))?;
        let r = oomlab_core::shrink::shrink(&sc, source, outcome, max_runs, progress)
            .ok_or_else(|| format!("the run does not show {target}"))?;
        Ok(ShrinkReply {
            scenario: r.scenario.scenario.to_canonical_toml(),
            source: r.source,
            critical: r.critical,
            minimal: r.minimal,
            runs: r.runs,
            original_choices: r.original_choices,
            original_deviations: r.original_deviations,
            threads_before: r.threads_before,
            threads_after: r.threads_after,
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "source {}\nminimal {}\nruns {}\noriginal {} {}\nthreads {} {}\n",
            source_to_text(&self.source),
            self.minimal,
            self.runs,
            self.original_choices,
            self.original_deviations,
            self.threads_before,
            self.threads_after
        );
        for c in &self.critical {
            s.push_str(&format!(
                "c {} {} {} {} {}\n",
                c.index, c.value, c.options, c.near_event, c.kind
            ));
        }
        s.push_str("scenario\n");
        s.push_str(&self.scenario);
        s
    }

    pub fn from_text(t: &str) -> Result<ShrinkReply, String> {
        let (head, scenario) = t.split_once("scenario\n").ok_or("no scenario")?;
        let mut r = ShrinkReply {
            scenario: scenario.to_string(),
            source: ChoiceSource::Seed(0),
            critical: Vec::new(),
            minimal: false,
            runs: 0,
            original_choices: 0,
            original_deviations: 0,
            threads_before: 0,
            threads_after: 0,
        };
        let bad = |what: &str| format!("bad shrink reply: {what}");
        for line in head.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["source", s] => r.source = source_from_text(s)?,
                ["minimal", m] => r.minimal = *m == "true",
                ["runs", n] => r.runs = n.parse().map_err(|_| bad("runs"))?,
                ["original", c, d] => {
                    r.original_choices = c.parse().map_err(|_| bad("original"))?;
                    r.original_deviations = d.parse().map_err(|_| bad("original"))?;
                }
                ["threads", a, b] => {
                    r.threads_before = a.parse().map_err(|_| bad("threads"))?;
                    r.threads_after = b.parse().map_err(|_| bad("threads"))?;
                }
                ["c", i, v, o, e, kind] => r.critical.push(CriticalChoice {
                    index: i.parse().map_err(|_| bad("critical"))?,
                    value: v.parse().map_err(|_| bad("critical"))?,
                    options: o.parse().map_err(|_| bad("critical"))?,
                    near_event: e.parse().map_err(|_| bad("critical"))?,
                    kind: kind.to_string(),
                }),
                [""] => {}
                _ => return Err(bad(line)),
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_core::explore::{Exploration, Strategy};
    use oomlab_core::presets;

    #[test]
    fn sources_round_trip() {
        for s in [
            ChoiceSource::Seed(u64::MAX),
            ChoiceSource::Replay {
                seed: 3,
                choices: vec![],
            },
            ChoiceSource::Replay {
                seed: 3,
                choices: vec![0, 4, 15],
            },
            ChoiceSource::Deviations {
                seed: 1 << 63,
                devs: vec![(2, 1), (90, 3)],
            },
        ] {
            assert_eq!(source_from_text(&source_to_text(&s)).unwrap(), s);
        }
        assert!(source_from_text("d:1:1,2,3").is_err());
        assert!(source_from_text("x:1:").is_err());
    }

    #[test]
    fn a_real_report_round_trips_with_its_hashes() {
        let sc = presets::find("r1").unwrap().load();
        let mut ex = Exploration::new(&sc, Strategy::Random, 0, 6);
        ex.run_chunk(6);
        let r = ex.report();
        assert!(r.state_hashes.iter().any(|h| *h > i64::MAX as u64));
        assert!(!r.buckets.is_empty());
        let back = report_from_text(&report_to_text(&r)).unwrap();
        assert_eq!(back, r);
        assert!(report_from_text("runs x").is_err());
    }

    #[test]
    fn shrink_reply_round_trips() {
        let r = ShrinkReply {
            scenario: "version = 1\n[machine]\ncpus = 2\n".into(),
            source: ChoiceSource::Deviations {
                seed: 9,
                devs: vec![(4, 1)],
            },
            critical: vec![CriticalChoice {
                index: 4,
                value: 1,
                kind: "sched_pick".into(),
                options: 3,
                near_event: 77,
            }],
            minimal: true,
            runs: 12,
            original_choices: 900,
            original_deviations: 500,
            threads_before: 9,
            threads_after: 2,
        };
        let back = ShrinkReply::from_text(&r.to_text()).unwrap();
        assert!(same_critical(&back.critical, &r.critical));
        assert_eq!(back, r);
    }
}
