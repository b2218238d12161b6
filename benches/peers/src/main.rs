//! Peer benchmark (not part of the product): the core of R1 written as a
//! Shuttle test, run under Shuttle's random scheduler, timed against oomlab's
//! explorer on the R1 preset in the same process, on the same machine.
//!
//! The Shuttle model keeps only the race itself:
//! - writer threads each `write()` a page-sized buffer of 0xff from their stack
//!   into their own file, one page per step, `CHUNK` pages per `write()`; like
//!   `__btrfs_buffered_write` in 4.13 the copy loop never checks
//!   `fatal_signal_pending`, so a SIGKILL only takes effect on the way back to
//!   user mode between two `write()` calls;
//! - the hog thread allocates until memory runs out and then plays
//!   `out_of_memory`: SIGKILL to every thread of the process, queue the mm for
//!   the reaper;
//! - the oom_reaper thread takes `mmap_sem` for read, sets MMF_UNSTABLE and
//!   unmaps every anonymous page, the writers' stack buffers included;
//! - a writer that touches its unmapped buffer refaults, and a read fault maps
//!   the shared zero page (no `check_stable_address_space`): the next copy puts
//!   zeros into the file. That is `zeros_in_file`.
//!
//! What Shuttle does not have and oomlab does: simulated time, CPUs and IPI
//! latency, the page allocator and reclaim, writeback, a trace, outcome
//! classification by provenance, shrinking. One Shuttle run is a few hundred
//! scheduling points; one oomlab R1 run is ~140 k simulated events. The ratio
//! below compares the cost of one explored interleaving of the same race in
//! each tool, not equal work.
//!
//! Run: `cargo run --release --manifest-path benches/peers/Cargo.toml -- [shuttle_iters] [oomlab_runs]`

use shuttle::sync::{Arc, Condvar, Mutex, RwLock};
use shuttle::thread;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const WRITERS: usize = 8;
/// Pages per `write()` call.
const CHUNK: usize = 4;
/// `write()` calls per writer.
const WRITES: usize = 4;
/// Pages the hog can allocate before the OOM killer runs.
const FREE_PAGES: u32 = 36;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pte {
    None,
    /// The writer's own page, holding what it memset: 0xff.
    Page,
    /// The shared zero page, mapped by a read fault after the reap.
    Zero,
}

struct Mm {
    /// `mmap_sem`.
    mmap_sem: RwLock<()>,
    /// Page table: one stack-buffer page per writer (the page-table lock).
    ptes: Mutex<Vec<Pte>>,
    /// MMF_UNSTABLE.
    unstable: shuttle::sync::atomic::AtomicBool,
    /// SIGKILL pending for the thread group.
    sigkill: shuttle::sync::atomic::AtomicBool,
    /// The reaper's queue (`oom_reaper_list`) and its wait queue.
    queued: Mutex<bool>,
    wake: Condvar,
}

/// Runs that put zeros in a file (std atomics: outside the model, not scheduled).
static CORRUPT: AtomicU64 = AtomicU64::new(0);
static RUNS: AtomicU64 = AtomicU64::new(0);

fn r1_core() {
    let mm = Arc::new(Mm {
        mmap_sem: RwLock::new(()),
        ptes: Mutex::new(vec![Pte::Page; WRITERS]),
        unstable: shuttle::sync::atomic::AtomicBool::new(false),
        sigkill: shuttle::sync::atomic::AtomicBool::new(false),
        queued: Mutex::new(false),
        wake: Condvar::new(),
    });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mm = mm.clone();
        writers.push(thread::spawn(move || {
            let mut file: Vec<u8> = Vec::with_capacity(CHUNK * WRITES);
            for _ in 0..WRITES {
                // exit_to_usermode_loop: a pending SIGKILL ends the thread here.
                if mm.sigkill.load(Ordering::SeqCst) {
                    break;
                }
                for _ in 0..CHUNK {
                    // iov_iter_fault_in_readable + iov_iter_copy_from_user_atomic.
                    let _sem = mm.mmap_sem.read().unwrap();
                    let byte = {
                        let mut pt = mm.ptes.lock().unwrap();
                        if pt[w] == Pte::None {
                            // do_anonymous_page, read fault: map the zero page.
                            pt[w] = Pte::Zero;
                        }
                        match pt[w] {
                            Pte::Page => 0xff,
                            _ => 0,
                        }
                    };
                    drop(_sem);
                    file.push(byte);
                }
            }
            file.contains(&0)
        }));
    }

    // The hog: allocate until memory runs out, then out_of_memory.
    let hog = {
        let mm = mm.clone();
        thread::spawn(move || {
            let free = shuttle::sync::atomic::AtomicU32::new(FREE_PAGES);
            while free.load(Ordering::SeqCst) > 0 {
                free.fetch_sub(1, Ordering::SeqCst);
            }
            // oom_kill_process: SIGKILL to the group, mark_oom_victim, wake_oom_reaper.
            mm.sigkill.store(true, Ordering::SeqCst);
            *mm.queued.lock().unwrap() = true;
            mm.wake.notify_one();
        })
    };

    // The oom_reaper kthread.
    let reaper = {
        let mm = mm.clone();
        thread::spawn(move || {
            let mut q = mm.queued.lock().unwrap();
            while !*q {
                q = mm.wake.wait(q).unwrap();
            }
            drop(q);
            // oom_reap_task: down_read_trylock(mmap_sem), retried.
            for _ in 0..10 {
                if let Ok(_sem) = mm.mmap_sem.try_read() {
                    mm.unstable.store(true, Ordering::SeqCst);
                    let mut pt = mm.ptes.lock().unwrap();
                    for p in pt.iter_mut() {
                        *p = Pte::None;
                    }
                    return;
                }
                thread::yield_now();
            }
        })
    };

    let mut corrupt = false;
    for w in writers {
        corrupt |= w.join().unwrap();
    }
    hog.join().unwrap();
    reaper.join().unwrap();
    RUNS.fetch_add(1, Ordering::Relaxed);
    if corrupt {
        CORRUPT.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shuttle_iters: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let oomlab_runs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);

    let t = Instant::now();
    shuttle::check_random(r1_core, shuttle_iters);
    let shuttle_s = t.elapsed().as_secs_f64();
    let runs = RUNS.load(Ordering::Relaxed);
    let corrupt = CORRUPT.load(Ordering::Relaxed);
    let shuttle_rate = runs as f64 / shuttle_s;
    println!(
        "shuttle  random scheduler: {runs} runs in {shuttle_s:.2} s = {shuttle_rate:.0} runs/s; \
         zeros_in_file in {corrupt} ({:.1}%)",
        100.0 * corrupt as f64 / runs.max(1) as f64
    );

    let sc = oomlab_core::presets::find("r1").expect("preset r1").load();
    let t = Instant::now();
    let mut ex = oomlab_core::explore::Exploration::new(
        &sc,
        oomlab_core::explore::Strategy::Random,
        0,
        oomlab_runs,
    );
    while !ex.is_finished() {
        ex.run_chunk(10);
    }
    let oomlab_s = t.elapsed().as_secs_f64();
    let rep = ex.report();
    let oomlab_rate = rep.runs as f64 / oomlab_s;
    let z = rep.histogram.get("zeros_in_file").copied().unwrap_or(0);
    println!(
        "oomlab   explore r1 random, 1 thread: {} runs in {oomlab_s:.2} s = {oomlab_rate:.1} runs/s; \
         zeros_in_file in {z} ({:.1}%)",
        rep.runs,
        100.0 * z as f64 / rep.runs.max(1) as f64
    );
    println!(
        "ratio    shuttle runs/s / oomlab runs/s = {:.0}x",
        shuttle_rate / oomlab_rate
    );
}
