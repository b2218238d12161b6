//! The wait-for chain of an `oom_hang`, as core extracts it: each task waits
//! on a lock that the next one holds (or must release). Drawn as a vertical
//! SVG chain, with a return arrow when the chain closes into a cycle. Every
//! box and edge carries its text, so the chain reads without colour.

use oomlab_core::locking::HangEvidence;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub hang: HangEvidence,
}

const W: f64 = 460.0;
const BOX_W: f64 = 230.0;
const BOX_H: f64 = 26.0;
const GAP: f64 = 34.0;

#[function_component(WaitGraph)]
pub fn wait_graph(p: &Props) -> Html {
    let h = &p.hang;
    // Nodes: the first waiter, then each edge's holder.
    let mut nodes: Vec<(u32, &str)> = Vec::new();
    if let Some(e) = h.chain.first() {
        nodes.push((e.pid, e.comm.as_str()));
    }
    for e in &h.chain {
        nodes.push((e.holder_pid, e.holder_comm.as_str()));
    }
    // A cycle ends on a task already in the chain: point back at it instead
    // of drawing it twice.
    let back = if h.cycle {
        nodes
            .last()
            .and_then(|last| nodes[..nodes.len() - 1].iter().position(|n| n.0 == last.0))
    } else {
        None
    };
    if back.is_some() {
        nodes.pop();
    }
    let y = |i: usize| 6.0 + i as f64 * (BOX_H + GAP);
    let height = y(nodes.len().max(1)) - GAP + 12.0;
    let x0 = 8.0;
    html! {
        <figure class="waitgraph" id="wait-graph" data-edges={h.chain.len().to_string()} data-cycle={h.cycle.to_string()}>
            <figcaption class="small">
                { format!("Wait-for chain at the hang: free {} pages, min {}", h.free_pages, h.min) }
                if h.cycle { <strong>{ " — a cycle" }</strong> }
            </figcaption>
            <svg viewBox={format!("0 0 {W} {height}")} width="100%" role="img"
                aria-label={h.chain.iter().map(|e| format!("{}/{} waits on {} held by {}/{}", e.comm, e.pid, e.lock, e.holder_comm, e.holder_pid)).collect::<Vec<_>>().join("; ")}>
                <defs>
                    <marker id="wg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="wg-head" />
                    </marker>
                </defs>
                { for h.chain.iter().enumerate().filter(|(i, _)| *i + 1 < nodes.len() || back.is_none()).map(|(i, e)| {
                    let (y1, y2) = (y(i) + BOX_H, y(i + 1));
                    html! {
                        <g class="wg-edge" data-lock={e.lock.clone()}>
                            <line x1={(x0 + 30.0).to_string()} y1={y1.to_string()} x2={(x0 + 30.0).to_string()} y2={(y2 - 1.0).to_string()} marker-end="url(#wg-arrow)" />
                            <text x={(x0 + 40.0).to_string()} y={((y1 + y2) / 2.0 + 4.0).to_string()} class="mono">
                                { format!("waits on {} ({})", e.lock, e.how) }
                            </text>
                        </g>
                    }
                }) }
                if let (Some(b), Some(e)) = (back, h.chain.last()) {
                    <g class="wg-edge wg-back" data-lock={e.lock.clone()}>
                        <path d={format!("M{},{} C{},{} {},{} {},{}",
                            x0 + BOX_W, y(nodes.len() - 1) + BOX_H / 2.0,
                            x0 + BOX_W + 60.0, y(nodes.len() - 1) + BOX_H / 2.0,
                            x0 + BOX_W + 60.0, y(b) + BOX_H / 2.0,
                            x0 + BOX_W + 2.0, y(b) + BOX_H / 2.0)}
                            fill="none" marker-end="url(#wg-arrow)" />
                        <text x={(x0 + BOX_W + 66.0).to_string()} y={((y(b) + y(nodes.len() - 1)) / 2.0 + BOX_H / 2.0).to_string()} class="mono">
                            { format!("waits on {}", e.lock) }
                        </text>
                    </g>
                }
                { for nodes.iter().enumerate().map(|(i, (pid, comm))| html! {
                    <g class="wg-node">
                        <rect x={x0.to_string()} y={y(i).to_string()} width={BOX_W.to_string()} height={BOX_H.to_string()} rx="5" />
                        <text x={(x0 + 8.0).to_string()} y={(y(i) + 17.0).to_string()} class="mono">{ format!("{comm}/{pid}") }</text>
                    </g>
                }) }
            </svg>
        </figure>
    }
}
