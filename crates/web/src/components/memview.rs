//! The memory view: the victim's VMAs (kind, reapable, present and zero-page
//! PTEs), its mm flags, and free pages against the zone watermarks over time.

use crate::view::RunView;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub dark: bool,
}

#[function_component(MemView)]
pub fn mem_view(p: &Props) -> Html {
    let v = &p.view;
    let s = &v.samples;
    let (w, h) = (420.0, 150.0);
    let t_max = s.last().map_or(1, |x| x.t.max(1)) as f64;
    let wm = v.watermarks;
    // The interesting range is around the watermarks: free pages above
    // 3 × high are clipped at the top.
    let y_max = (wm.high * 3).max(1) as f64;
    let x = |t: u64| t as f64 / t_max * w;
    let y = |pg: u64| (h - pg as f64 / y_max * h).max(0.0);
    let free: String = s
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.t), y(p.free_pages)))
        .collect::<Vec<_>>()
        .join(" ");
    let victim = v.victim;
    let present_max = s
        .iter()
        .flat_map(|p| p.mms.iter().filter(|m| Some(m.tgid) == victim))
        .map(|m| m.present + m.zero)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let present: String = s
        .iter()
        .filter_map(|p| {
            let m = p.mms.iter().find(|m| Some(m.tgid) == victim)?;
            Some(format!(
                "{:.1},{:.1}",
                x(p.t),
                h - m.present as f64 / present_max * h
            ))
        })
        .collect::<Vec<_>>()
        .join(" ");
    let zero: String = s
        .iter()
        .filter_map(|p| {
            let m = p.mms.iter().find(|m| Some(m.tgid) == victim)?;
            Some(format!(
                "{:.1},{:.1}",
                x(p.t),
                h - m.zero as f64 / present_max * h
            ))
        })
        .collect::<Vec<_>>()
        .join(" ");
    let unstable_t = s
        .iter()
        .find(|p| p.mms.iter().any(|m| Some(m.tgid) == victim && m.unstable))
        .map(|p| p.t);
    let hline = |pg: u64, label: &'static str, class: &'static str, lx: f64| {
        html! {
            <g class={class}>
                <line x1="0" x2={w.to_string()} y1={y(pg).to_string()} y2={y(pg).to_string()} />
                <text x={lx.to_string()} y={(y(pg) - 2.0).to_string()}>{ format!("{label} {pg}") }</text>
            </g>
        }
    };
    html! {
        <div class="memview" id="memview">
            <h3>{ format!("Victim: tgid {}", victim.map_or("-".into(), |t| t.to_string())) }</h3>
            <div class="chips">
                { for ["MMF_UNSTABLE", "MMF_OOM_SKIP"].iter().map(|f| {
                    let set = v.victim_flags.contains(f);
                    html! { <span class={classes!("chip", "mono", if set { "flag-set" } else { "flag-clear" })}>
                        { format!("{} {f}", if set { "■ set:" } else { "□ clear:" }) }
                    </span> }
                }) }
            </div>
            <table class="vmas mono small">
                <caption class="sr-only">{ "Victim VMAs at the end of the run" }</caption>
                <thead><tr><th>{ "range" }</th><th>{ "kind" }</th><th>{ "reapable" }</th><th>{ "present" }</th><th>{ "zero pfn" }</th></tr></thead>
                <tbody>
                    { for v.victim_vmas.iter().map(|m| html! {
                        <tr>
                            <td>{ format!("{:x}-{:x}", m.start, m.end) }</td>
                            <td>{ format!("{:?}", m.kind).to_ascii_lowercase() }</td>
                            <td>{ if m.reapable { "yes" } else { "no" } }</td>
                            <td>{ m.present }</td>
                            <td>{ m.zero }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <h3>{ "Free pages and watermarks" }</h3>
            <svg class="chart" viewBox={format!("0 0 {w} {h}")} role="img"
                aria-label="Free pages over time against the min, low and high watermarks; the victim's present pages">
                { hline(wm.high, "high", "wm high", 4.0) }
                { hline(wm.low, "low", "wm low", 90.0) }
                { hline(wm.min, "min", "wm min", 176.0) }
                <polyline class="present" points={present} />
                <polyline class="zero" points={zero} />
                <polyline class="free" points={free} />
                if let Some(t) = unstable_t {
                    <line class="unstable" x1={x(t).to_string()} x2={x(t).to_string()} y1="0" y2={h.to_string()} />
                    <text class="unstable-label" x={(x(t) + 3.0).to_string()} y="12">{ "MMF_UNSTABLE" }</text>
                }
            </svg>
            <p class="legend small">
                <span class="lg free-key">{ "free pages (clipped above 3 × high)" }</span>
                <span class="lg present-key">{ "victim present PTEs (scaled)" }</span>
                <span class="lg zero-key">{ "victim zero-pfn PTEs (same scale)" }</span>
                <span class="muted">{ format!("{} samples", s.len()) }</span>
            </p>
        </div>
    }
}
