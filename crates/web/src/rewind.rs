//! "When was it decided?": a rewind of the run in view (core's `rewind`),
//! split across Web Workers one checkpoint at a time. Point i depends only
//! on (run, M, S, i): core's `Rewinder` draws suffix k of every point from
//! the same fresh seed, so the curve is the same for any number of workers
//! and equals `oomlab rewind LINK --points M --samples S`. The point of no
//! return is core's `point_of_no_return` over the finished points, with the
//! trace records and threads the worker saw at that checkpoint.
//!
//! Also the worker side, `run_point`: a worker keeps its `Rewinder` between
//! points of one rewind, so points handed out in increasing order replay
//! the run once per worker, not once per point.
//!
//! Not done: a partial curve is shown while points arrive, but the point of
//! no return is only named once every point is in (a later point could
//! still drop below 0.95).

use crate::explorer::parsed;
use crate::wire;
use oomlab_core::rewind::{point_of_no_return, Point, Rewinder};
use oomlab_core::{ChoiceSource, ValidScenario};
use std::cell::RefCell;
use std::rc::Rc;

/// `oomlab rewind`'s defaults: 10 checkpoints, 16 suffixes each.
pub const POINTS: u32 = 10;
pub const SAMPLES: u32 = 16;

/// One rewind as started.
#[derive(Clone, Debug, PartialEq)]
pub struct RewindJob {
    pub id: u64,
    /// Canonical scenario text: what the workers parse.
    pub text: String,
    pub source: ChoiceSource,
    /// The run's permalink: the rewind belongs to that run view.
    pub link: String,
    pub points: u32,
    pub samples: u32,
    pub workers: u32,
    /// The run's end: the chart's time axis is the timeline's, 0 to here.
    pub end_ns: u64,
}

/// One point as a worker computed it.
#[derive(Clone, Debug, PartialEq)]
pub struct PointReply {
    pub outcome: String,
    pub point: Point,
    /// The trace records just before the checkpoint: (index, line).
    pub records: Vec<(u64, String)>,
    /// The threads in the kernel then: "comm tgid/pid cpuN State in a → b".
    pub threads: Vec<String>,
}

impl PointReply {
    pub fn to_text(&self) -> String {
        let p = &self.point;
        let mut s = format!(
            "outcome {}\npoint {} {} {} {}\n",
            self.outcome, p.t_ns, p.event, p.samples, p.hits
        );
        for (i, l) in &self.records {
            s.push_str(&format!("r {i} {}\n", l.replace('\n', " ")));
        }
        for t in &self.threads {
            s.push_str(&format!("t {}\n", t.replace('\n', " ")));
        }
        s
    }

    pub fn from_text(t: &str) -> Result<PointReply, String> {
        let mut outcome = None;
        let mut point = None;
        let (mut records, mut threads) = (Vec::new(), Vec::new());
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("bad number `{v}`"));
        for line in t.lines() {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            match k {
                "outcome" => outcome = Some(v.to_string()),
                "point" => {
                    let f: Vec<&str> = v.split(' ').collect();
                    let [a, b, c, d] = f[..] else {
                        return Err(format!("bad point line `{line}`"));
                    };
                    let (samples, hits) = (num(c)? as u32, num(d)? as u32);
                    if hits > samples {
                        return Err(format!("bad point line `{line}`"));
                    }
                    point = Some(Point::new(num(a)?, num(b)?, samples, hits));
                }
                "r" => {
                    let (i, l) = v.split_once(' ').unwrap_or((v, ""));
                    records.push((num(i)?, l.to_string()));
                }
                "t" => threads.push(v.to_string()),
                _ => return Err(format!("bad rewind line `{line}`")),
            }
        }
        Ok(PointReply {
            outcome: outcome.ok_or("a rewind point without its outcome")?,
            point: point.ok_or("a rewind point without its estimate")?,
            records,
            threads,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewindStatus {
    Running,
    Done,
    Cancelled,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RewindState {
    pub job: Rc<RewindJob>,
    pub status: RewindStatus,
    /// Point i's reply once in (a `Vec`, not a map: the bundle has no
    /// other map of this type).
    pub got: Vec<Option<Rc<PointReply>>>,
    pub started_ms: f64,
    /// Wall time from start to the last point, once done.
    pub took_ms: Option<f64>,
    pub error: Option<String>,
}

impl RewindState {
    pub fn new(job: RewindJob, now_ms: f64) -> RewindState {
        RewindState {
            status: RewindStatus::Running,
            got: vec![None; job.points as usize],
            started_ms: now_ms,
            took_ms: None,
            error: None,
            job: Rc::new(job),
        }
    }

    /// Points in so far.
    pub fn count(&self) -> u32 {
        self.got.iter().filter(|g| g.is_some()).count() as u32
    }

    fn replies(&self) -> impl Iterator<Item = &Rc<PointReply>> {
        self.got.iter().flatten()
    }

    pub fn running(&self) -> bool {
        self.status == RewindStatus::Running
    }

    pub fn point_done(&mut self, id: u64, index: u32, reply: PointReply, now_ms: f64) {
        if id != self.job.id || !self.running() || index >= self.job.points {
            return;
        }
        self.got[index as usize] = Some(Rc::new(reply));
        if self.count() == self.job.points {
            self.status = RewindStatus::Done;
            self.took_ms = Some((now_ms - self.started_ms).max(0.0));
        }
    }

    pub fn fail(&mut self, id: u64, message: String) {
        if id == self.job.id && self.running() {
            self.status = RewindStatus::Failed;
            self.error = Some(message);
        }
    }

    pub fn cancel(&mut self) {
        if self.running() {
            self.status = RewindStatus::Cancelled;
        }
    }

    pub fn outcome(&self) -> Option<&str> {
        self.replies().next().map(|r| r.outcome.as_str())
    }

    /// The points in, by time.
    pub fn points(&self) -> Vec<Point> {
        self.replies().map(|r| r.point.clone()).collect()
    }

    /// The point of no return, once every point is in: its reply.
    pub fn no_return(&self) -> Option<Rc<PointReply>> {
        if self.status != RewindStatus::Done {
            return None;
        }
        let i = point_of_no_return(&self.points())?;
        self.replies().nth(i).cloned()
    }
}

/// `s` for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The chart's drawing box; the SVG is stretched to the run pane's width,
/// so x in it is a share of the run, as on the timeline's overview strip.
const W: f64 = 1000.0;
const H: f64 = 120.0;

/// The rewind's chart and explanation as HTML (every text from the run
/// escaped): P over time with the interval as a band, the kill (`kill`, ns)
/// and the point of no return as lines, the 0.95 line, a dot per point with
/// its numbers in `data-*`, and what the run looked like at the point of no
/// return, or that there is none.
pub fn body_html(rw: &RewindState, kill: Option<u64>) -> String {
    use std::fmt::Write;
    let job = &rw.job;
    let end = job.end_ns.max(1);
    let pts = rw.points();
    let outcome = esc(rw.outcome().unwrap_or("the worst outcome"));
    let x = |t: u64| W * t as f64 / end as f64;
    let y = |v: f64| H - v * H;
    let fmt = |t: u64| oomlab_core::time::fmt_duration(t);
    let nr = rw.no_return();
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        "<p class=\"muted small\">P({outcome} | state at t): from each of {} checkpoints of this \
         run, {} suffixes with fresh decisions; the band is the 95% Wilson interval. The time \
         axis is the timeline's overview strip: 0 to the run's end ({}).</p>\
         <div class=\"rewind-chart\" id=\"rewind-chart\"><svg viewBox=\"0 0 {W} {H}\" \
         preserveAspectRatio=\"none\" role=\"img\" aria-label=\"P({outcome}) at {} checkpoints \
         over the run's time\">",
        job.points,
        job.samples,
        fmt(end),
        pts.len()
    );
    for v in [0.95, 0.5] {
        let _ = write!(
            s,
            "<line class=\"rw-grid\" x1=\"0\" x2=\"{W}\" y1=\"{0:.2}\" y2=\"{0:.2}\"/>",
            y(v)
        );
    }
    let vline = |s: &mut String, class: &str, t: u64| {
        let _ = write!(
            s,
            "<line class=\"{class}\" x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"0\" y2=\"{H}\"/>",
            x(t)
        );
    };
    if let Some(k) = kill {
        vline(&mut s, "rw-kill", k);
    }
    if let Some(r) = &nr {
        vline(&mut s, "rw-nr", r.point.t_ns);
    }
    s.push_str("<polygon class=\"rw-band\" points=\"");
    for q in &pts {
        let _ = write!(s, "{:.2},{:.2} ", x(q.t_ns), y(q.high));
    }
    for q in pts.iter().rev() {
        let _ = write!(s, "{:.2},{:.2} ", x(q.t_ns), y(q.low));
    }
    s.push_str("\"/><polyline class=\"rw-line\" points=\"");
    for q in &pts {
        let _ = write!(s, "{:.2},{:.2} ", x(q.t_ns), y(q.p));
    }
    s.push_str("\"/></svg>");
    for q in &pts {
        let _ = write!(
            s,
            "<span class=\"rw-dot\" style=\"left:{:.3}%;top:{:.3}%\" data-t-ns=\"{}\" \
             data-p=\"{:.4}\" data-low=\"{:.4}\" data-high=\"{:.4}\" title=\"t={}: {}/{} \
             suffixes had {outcome}, P {:.2} [{:.2}, {:.2}]\"></span>",
            100.0 * x(q.t_ns) / W,
            100.0 * (1.0 - q.p),
            q.t_ns,
            q.p,
            q.low,
            q.high,
            fmt(q.t_ns),
            q.hits,
            q.samples,
            q.p,
            q.low,
            q.high
        );
    }
    s.push_str(
        "<span class=\"rw-axis rw-axis-1 small muted\">P = 1</span>\
         <span class=\"rw-axis rw-axis-95 small muted\">0.95</span>\
         <span class=\"rw-axis rw-axis-0 small muted\">0</span>",
    );
    if let Some(k) = kill {
        let _ = write!(
            s,
            "<span class=\"rw-label small\" style=\"left:{:.3}%\">kill</span>",
            100.0 * x(k) / W
        );
    }
    let _ = write!(
        s,
        "</div><div class=\"rw-ticks small muted mono\"><span>0</span><span>{}</span>\
         <span>{}</span></div>",
        fmt(end / 2),
        fmt(end)
    );
    if let Some(e) = &rw.error {
        let _ = write!(s, "<p class=\"banner error small\">{}</p>", esc(e));
    }
    match (rw.status, &nr) {
        (RewindStatus::Done, Some(r)) => {
            let q = &r.point;
            let when = match kill {
                Some(k) if q.t_ns < k => format!(", {} before the first OOM kill", fmt(k - q.t_ns)),
                Some(_) => ", after the first OOM kill".to_string(),
                None => String::new(),
            };
            let _ = write!(
                s,
                "<div id=\"rewind-no-return\" class=\"rw-explain\" data-t-ns=\"{}\"><p><strong>\
                 Point of no return: t={} (trace record {}).</strong> From this checkpoint on, \
                 every checkpoint gave {outcome} in at least 95% of its suffixes (here {}/{}, P \
                 {:.2} [{:.2}, {:.2}]): the run was decided by then{when}.</p><p class=\"small \
                 muted\">The trace just before it (press a record to find it in the timeline and \
                 the trace):</p><ul class=\"rw-records mono small\">",
                q.t_ns,
                fmt(q.t_ns),
                q.event,
                q.hits,
                q.samples,
                q.p,
                q.low,
                q.high
            );
            for (i, l) in &r.records {
                let _ = write!(
                    s,
                    "<li><button class=\"link-btn\" data-idx=\"{i}\">{}</button></li>",
                    esc(l)
                );
            }
            s.push_str(
                "</ul><p class=\"small muted\">The threads in the kernel then (kernel stack, \
                 outermost first):</p><ul class=\"rw-threads mono small\">",
            );
            for t in &r.threads {
                let _ = write!(s, "<li>{}</li>", esc(t));
            }
            s.push_str("</ul></div>");
        }
        (RewindStatus::Done, None) => {
            let _ = write!(
                s,
                "<p id=\"rewind-no-return\" class=\"rw-explain\" data-none=\"true\">No point of \
                 no return: at some checkpoint up to the symptom, fewer than 95% of the suffixes \
                 gave {outcome}, so the run was not yet decided there (with {} suffixes a \
                 checkpoint).</p>",
                job.samples
            );
        }
        (RewindStatus::Cancelled, _) => {
            let _ = write!(
                s,
                "<p class=\"muted small\">Cancelled after {} of {} checkpoints: the curve is \
                 partial, and no point of no return is named.</p>",
                rw.count(),
                job.points
            );
        }
        _ => {}
    }
    s
}

// -- worker side ------------------------------------------------------------

thread_local! {
    /// The rewind a worker is in: its key and its `Rewinder`.
    static REWINDER: RefCell<Option<(String, Rewinder)>> = const { RefCell::new(None) };
}

fn thread_line(t: &oomlab_core::sim::TaskSnap) -> String {
    let mut s = format!("{} {}/{} cpu{} {:?}", t.comm, t.tgid, t.pid, t.cpu, t.state);
    if !t.kernel_stack.is_empty() {
        s.push_str(" in ");
        s.push_str(&t.kernel_stack.join(" → "));
    }
    s
}

/// Point `index` of the rewind of `source` in the scenario `text`.
pub fn run_point(
    text: &str,
    source: &str,
    points: u32,
    samples: u32,
    index: u32,
) -> Result<String, String> {
    let sc: Rc<ValidScenario> = parsed(text)?;
    let src = wire::source_from_text(source)?;
    if index >= points {
        return Err(format!("point {index} of {points}"));
    }
    let key = format!("{source}/{points}\n{text}");
    REWINDER.with(|r| {
        let mut r = r.borrow_mut();
        if r.as_ref().map(|x| &x.0) != Some(&key) {
            *r = Some((key.clone(), Rewinder::new(&sc, &src, points)?));
        }
        let rw = &mut r.as_mut().expect("just set").1;
        let at = rw.point(index, samples);
        Ok(PointReply {
            outcome: rw.outcome().code().to_string(),
            point: at.point,
            records: at.records.iter().map(|x| (x.idx, x.to_line())).collect(),
            threads: at
                .threads
                .iter()
                .filter(|t| t.pid != t.tgid || !t.kernel_stack.is_empty())
                .map(thread_line)
                .collect(),
        }
        .to_text())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_core::{presets, Outcome, Sim};

    fn corrupting_r1() -> (String, ChoiceSource) {
        let sc = presets::find("r1").unwrap().load();
        let seed = (0..20)
            .find(|&s| {
                Sim::new(&sc, ChoiceSource::Seed(s))
                    .run_to_end(u64::MAX)
                    .has(Outcome::ZerosInFile)
            })
            .expect("a corrupting R1 seed");
        (sc.scenario.to_canonical_toml(), ChoiceSource::Seed(seed))
    }

    /// Workers that take points in order and finish in an order that depends
    /// on how many there are; each keeps its own `Rewinder` (its own thread
    /// local here, a worker's in the page).
    fn rewind_with(workers: usize, text: &str, src: &ChoiceSource) -> RewindState {
        let (m, s) = (5, 3);
        let job = RewindJob {
            id: 1,
            text: text.to_string(),
            source: src.clone(),
            link: String::new(),
            points: m,
            samples: s,
            workers: workers as u32,
            end_ns: 0,
        };
        let mut st = RewindState::new(job, 0.0);
        let src_text = wire::source_to_text(src);
        // Worker w gets points w, w + n, ...; they report last worker first.
        let mut replies: Vec<(u32, String)> = Vec::new();
        for w in (0..workers).rev() {
            let t = text.to_string();
            let st = src_text.clone();
            let mine: Vec<u32> = (0..m).filter(|i| *i as usize % workers == w).collect();
            // A thread per worker: each has its own Rewinder.
            let got = std::thread::spawn(move || {
                mine.into_iter()
                    .map(|i| (i, run_point(&t, &st, m, s, i).unwrap()))
                    .collect::<Vec<_>>()
            })
            .join()
            .unwrap();
            replies.extend(got);
        }
        for (i, r) in replies {
            st.point_done(1, i, PointReply::from_text(&r).unwrap(), 10.0);
        }
        assert_eq!(st.status, RewindStatus::Done);
        st
    }

    #[test]
    fn the_curve_does_not_depend_on_the_number_of_workers() {
        let (text, src) = corrupting_r1();
        let one = rewind_with(1, &text, &src);
        for w in [2, 3] {
            let other = rewind_with(w, &text, &src);
            assert_eq!(other.got, one.got, "{w} workers");
        }
        // And it is core's rewind of the run (what `oomlab rewind` prints).
        let sc = parse_scenario_text(&text);
        let whole = oomlab_core::rewind::rewind(&sc, &src, 5, 3).unwrap();
        assert_eq!(one.points(), whole.points);
        assert_eq!(one.outcome(), Some(whole.outcome.as_str()));
        let nr = one.no_return();
        assert_eq!(
            nr.as_ref().map(|r| r.point.t_ns),
            whole.point_of_no_return.as_ref().map(|n| n.t_ns)
        );
        let (nr, whole_nr) = (
            nr.expect("R1's run is decided before its symptom"),
            whole.point_of_no_return.unwrap(),
        );
        let lines: Vec<String> = whole_nr.records.iter().map(|r| r.to_line()).collect();
        assert_eq!(
            nr.records.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            lines
        );
        assert!(!nr.threads.is_empty());
        assert!(
            nr.threads.iter().any(|t| t.contains(" in ")),
            "{:?}",
            nr.threads
        );
    }

    fn parse_scenario_text(text: &str) -> ValidScenario {
        oomlab_core::parse_scenario(text).unwrap()
    }

    #[test]
    fn late_foreign_and_cancelled_points_are_ignored() {
        let (text, src) = corrupting_r1();
        let job = RewindJob {
            id: 4,
            text: text.clone(),
            source: src.clone(),
            link: String::new(),
            points: 2,
            samples: 1,
            workers: 1,
            end_ns: 0,
        };
        let mut st = RewindState::new(job, 0.0);
        let r =
            PointReply::from_text(&run_point(&text, &wire::source_to_text(&src), 2, 1, 0).unwrap())
                .unwrap();
        st.point_done(3, 0, r.clone(), 1.0);
        assert_eq!(st.count(), 0, "another rewind's point");
        st.point_done(4, 0, r.clone(), 1.0);
        assert_eq!(st.count(), 1);
        assert!(
            st.no_return().is_none(),
            "not named before every point is in"
        );
        st.cancel();
        st.point_done(4, 1, r, 2.0);
        assert_eq!(st.count(), 1);
        assert_eq!(st.status, RewindStatus::Cancelled);
        assert!(
            PointReply::from_text("point 1 2 3 4\noutcome x").is_err(),
            "hits > samples"
        );
        assert!(run_point(&text, "s:0", 2, 1, 5).is_err());
    }
}
