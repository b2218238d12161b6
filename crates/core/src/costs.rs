//! Every simulated CPU and device duration, in nanoseconds, in one place.
//!
//! Two kinds of number live here:
//! - **Calibrated** costs are set so that a quantity observed on real machines
//!   comes out right; their comment names the observation (see
//!   `docs/kernel.md` §6 for the numbers and where they come from).
//! - **Path lengths** are order-of-magnitude costs of a stretch of kernel
//!   code: 100 ns is a few hundred instructions on a 3 GHz core, 1 µs a
//!   function that walks a list or takes a contended lock. They order events
//!   plausibly (a flag test is cheaper than a page allocation, which is
//!   cheaper than a reclaim pass), but no single one was measured, and no
//!   outcome depends on one of them being exact: the interleavings that
//!   matter come from the recorded choices, not from these sums.
//!
//! Changing any number changes traces, so it bumps `MODEL_VERSION`.
//!
//! Not modelled: cache misses, frequency scaling, SMT siblings and NUMA
//! distance (apart from the IPI latency per socket in the scenario), and any
//! difference in speed between CPUs.

// ---- entry, user mode and the scheduler ------------------------------------

/// A syscall's entry and exit (`entry_SYSCALL_64` to `sysret`).
pub(crate) const SYSCALL_NS: u64 = 150;
/// A user statement that does not enter the kernel.
pub(crate) const USER_OP_NS: u64 = 200;
/// The body of an empty user loop: it still burns CPU time.
pub(crate) const EMPTY_LOOP_NS: u64 = 5;
/// The shortest step: a spin that has just ended.
pub(crate) const MIN_STEP_NS: u64 = 1;
/// Copying one page in a user `memcpy`.
pub(crate) const USER_COPY_PAGE_NS: u64 = 400;
/// The exception entry of a page fault taken from user mode.
pub(crate) const FAULT_ENTRY_NS: u64 = 300;
/// An anonymous fault served on the fast path (allocate, clear, set the PTE).
pub(crate) const FAST_FAULT_NS: u64 = 700;
/// `do_sys_open`: the path walk and the `struct file`.
pub(crate) const OPEN_NS: u64 = 3_000;
/// `exit_to_usermode_loop` with nothing left to do.
pub(crate) const RETURN_TO_USER_NS: u64 = 100;
/// `get_signal` dequeuing a fatal signal and starting `do_group_exit`.
pub(crate) const GET_SIGNAL_NS: u64 = 300;
/// `hrtimer_nanosleep` returning.
pub(crate) const NANOSLEEP_RETURN_NS: u64 = 200;
/// A context switch (`__schedule` to the next task's first instruction).
pub(crate) const CTX_SWITCH_NS: u64 = 1_500;
/// An interrupt's entry and exit (an IPI, or a tick with work to do).
pub(crate) const IRQ_NS: u64 = 700;

// ---- signals and exit --------------------------------------------------------

/// Posting SIGKILL to one thread (`sigaddset` + `signal_wake_up`).
pub(crate) const POST_ONE_NS: u64 = 250;
/// The extra cost of `try_to_wake_up` for a sleeping target.
pub(crate) const TTWU_NS: u64 = 700;
/// `do_group_exit` handing over to `do_exit`.
pub(crate) const GROUP_EXIT_NS: u64 = 200;
/// `exit_signals`: `PF_EXITING` and the shared-pending hand-off.
pub(crate) const EXIT_SIGNALS_NS: u64 = 800;
/// A step of `do_exit` that only moves on (no mm, or `mmap_sem` cycled).
pub(crate) const EXIT_STEP_NS: u64 = 100;
/// `exit_mm` taking `mmap_sem` for read, and 4.14's `down_write`/`up_write`
/// handshake with the reaper in `exit_mmap`.
pub(crate) const EXIT_MM_LOCK_NS: u64 = 200;
/// `exit_mm` dropping the task's reference (`mmput`, `mm_update_next_owner`).
pub(crate) const EXIT_MM_NS: u64 = 500;

// ---- page allocation ---------------------------------------------------------

/// `get_page_from_freelist` handing out a page.
pub(crate) const GET_PAGE_NS: u64 = 300;
/// Entering `__alloc_pages_slowpath` (and waking kswapd).
pub(crate) const SLOWPATH_ENTRY_NS: u64 = 200;
/// The slow path giving up: `nopage`.
pub(crate) const NOPAGE_NS: u64 = 100;
/// `should_reclaim_retry` deciding to go on to `__alloc_pages_may_oom`.
pub(crate) const RECLAIM_RETRY_NS: u64 = 100;
/// The slow path going round again after `out_of_memory` made progress.
pub(crate) const SLOWPATH_RETRY_NS: u64 = 200;
/// `__alloc_pages_may_oom` calling `out_of_memory`.
pub(crate) const MAY_OOM_NS: u64 = 300;
/// The fixed part of a direct reclaim pass (`try_to_free_pages`).
pub(crate) const DIRECT_RECLAIM_NS: u64 = 15_000;
/// Direct reclaim, per page reclaimed.
pub(crate) const DIRECT_RECLAIM_NS_PER_PAGE: u64 = 1_000;
/// One unit of the chosen jitter of a direct reclaim pass (0..8 units): the
/// time a reclaimer spends is what decides which allocator reaches the OOM
/// killer first, so it is a recorded choice rather than a fixed cost.
pub(crate) const DIRECT_RECLAIM_JITTER_NS: u64 = 10_000;
/// A pause between reclaim retries with nothing to wait for.
pub(crate) const RECLAIM_PAUSE_NS: u64 = 100;

// ---- reclaim: kswapd, shrinkers, writeback -----------------------------------

/// kswapd's first step after a wake-up.
pub(crate) const KSWAPD_WAKE_NS: u64 = 2_000;
/// The fixed part of one kswapd `balance_pgdat` round.
pub(crate) const KSWAPD_ROUND_NS: u64 = 5_000;
/// kswapd, per page reclaimed by `shrink_node`.
pub(crate) const KSWAPD_NS_PER_PAGE: u64 = 1_000;
/// kswapd's `cond_resched` after a round, fixed part.
pub(crate) const KSWAPD_RESCHED_NS: u64 = 10_000;
/// A shrinker step that only decides (`down_read_trylock(&shrinker_rwsem)`
/// failing, `trylock_super` failing, `SHRINK_STOP`).
pub(crate) const SHRINKER_STEP_NS: u64 = 200;
/// `super_cache_scan`: counting and splitting the scan between the caches.
pub(crate) const SUPER_SCAN_NS: u64 = 300;
/// Taking or trying an allocation group's `pag_ici_reclaim_lock`, or going
/// on with an inode that the log force just unpinned.
pub(crate) const XFS_AG_LOCK_NS: u64 = 500;
/// `xfs_reclaim_inodes_ag`: one radix-tree lookup batch, before the inodes.
pub(crate) const XFS_LOOKUP_NS: u64 = 300;
/// Reclaiming one clean inode.
pub(crate) const RECLAIM_NS_PER_INODE: u64 = 500;
/// The XFS log worker's checkpoint write, submit to completion: slow enough
/// that a reclaimer waiting for it in `xfs_iunpin_wait` keeps the reaper
/// failing for the whole second the 2017 reports show.
pub(crate) const XLOG_IO_NS: u64 = 3_000_000;
/// The log worker starting a checkpoint (`xlog_cil_push` up to its first
/// allocation).
pub(crate) const XLOG_PUSH_NS: u64 = 2_000;
/// The log worker between two allocations of its checkpoint buffer.
pub(crate) const XLOG_ALLOC_NS: u64 = 1_000;
/// The log worker's `cond_resched` after a checkpoint.
pub(crate) const XLOG_DONE_NS: u64 = 500;
/// The flusher's `cond_resched` after a chunk, fixed part.
pub(crate) const WB_CHUNK_NS: u64 = 2_000;
/// The flusher, per page written back.
pub(crate) const WB_NS_PER_PAGE: u64 = 200;
/// The flusher's shortest sleep before the next periodic (`wb_check_old_data_flush`)
/// writeback.
pub(crate) const WB_MIN_SLEEP_NS: u64 = 1_000_000;
/// `balance_dirty_pages_ratelimited` finding nothing to throttle.
pub(crate) const BALANCE_DIRTY_NS: u64 = 100;

// ---- faults, mmap, zap -------------------------------------------------------

/// `__do_page_fault` taking `mmap_sem` for read.
pub(crate) const FAULT_LOCK_NS: u64 = 150;
/// `handle_mm_fault` calling the page allocator.
pub(crate) const FAULT_ALLOC_NS: u64 = 100;
/// A fault's return (`up_read`, the `VM_FAULT_*` result).
pub(crate) const FAULT_DONE_NS: u64 = 200;
/// A fault that fails at once (`-EFAULT`, `-EINTR`).
pub(crate) const FAULT_FAIL_NS: u64 = 100;
/// A `MAP_POPULATE` fault's extra cost over the pages it touched.
pub(crate) const POPULATE_FAULT_NS: u64 = 100;
/// `mmap`/`munmap` taking `mmap_sem` for write.
pub(crate) const MMAP_LOCK_NS: u64 = 500;
/// `vm_area_alloc` calling the slab allocator for a new slab page.
pub(crate) const VMA_SLAB_ALLOC_NS: u64 = 200;
/// `vm_area_alloc` served from a partial slab.
pub(crate) const VMA_ALLOC_NS: u64 = 150;
/// `mmap_region` linking the VMA, and `up_write`.
pub(crate) const MMAP_REGION_NS: u64 = 300;
/// Skipping a page table's worth (512 entries) of empty PTEs while zapping.
pub(crate) const ZAP_EMPTY_PMD_NS: u64 = 50;
/// Unmapping one present page: about 2 M pages/s, the rate the reaper showed
/// in 2017 (2.25 GB in 287 ms).
pub(crate) const ZAP_NS_PER_PAGE: u64 = 500;

// ---- the OOM killer and the reaper -------------------------------------------

/// `out_of_memory` returning without a kill (`!__GFP_FS`, or
/// `select_bad_process` aborting for a victim that is still exiting).
pub(crate) const OOM_NO_KILL_NS: u64 = 300;
/// Marking a victim that is already exiting and queueing it for the reaper.
pub(crate) const OOM_MARK_ONLY_NS: u64 = 500;
/// The fixed part of `select_bad_process`.
pub(crate) const OOM_SELECT_NS: u64 = 2_000;
/// `select_bad_process`, per task looked at (`oom_badness`).
pub(crate) const OOM_SELECT_NS_PER_TASK: u64 = 300;
/// A step of `out_of_memory` that only moves on (after the last SIGKILL is
/// posted, after the killer's one-tick sleep, the final panic).
pub(crate) const OOM_STEP_NS: u64 = 100;
/// "Killed process ...": the message, `mark_oom_victim`, `queue_oom_reaper`.
pub(crate) const OOM_KILL_MSG_NS: u64 = 300;
/// `oom_reaper` taking the next task off `oom_reaper_list`.
pub(crate) const REAPER_DEQUEUE_NS: u64 = 500;
/// `oom_reap_task` giving up ("unable to reap").
pub(crate) const REAPER_GIVE_UP_NS: u64 = 200;
/// `oom_reap_task` setting `MMF_OOM_SKIP` before it sleeps again.
pub(crate) const REAPER_DONE_NS: u64 = 300;
/// Taking `oom_lock` (4.13's reaper), or `mmap_read_lock_killable`
/// (`process_mrelease`).
pub(crate) const REAP_LOCK_NS: u64 = 300;
/// `__oom_reap_task_mm` backing off without reaping (the mm is gone, has
/// MMU notifiers, or `process_mrelease` found it skipped).
pub(crate) const REAP_SKIP_NS: u64 = 200;
/// `__oom_reap_task_mm` once it holds `mmap_sem`: `MMF_UNSTABLE`,
/// `tlb_gather_mmu`.
pub(crate) const REAP_START_NS: u64 = 500;
/// A remote CPU's TLB-shootdown handler: flush, then acknowledge.
pub(crate) const TLB_FLUSH_ACK_NS: u64 = 300;
/// `tlb_finish_mmu` freeing a batch, before the next one.
pub(crate) const REAP_BATCH_NS: u64 = 200;
/// `mmput_async` and the return from the reap (or from `process_mrelease`).
pub(crate) const REAP_RETURN_NS: u64 = 300;
/// A kworker's `process_one_work` picking up `mmput_async_fn`.
pub(crate) const MMPUT_WORK_NS: u64 = 500;

// ---- khugepaged --------------------------------------------------------------

/// `khugepaged_do_scan` finding no mm to scan.
pub(crate) const KHUGEPAGED_IDLE_NS: u64 = 1_000;
/// Scanning an mm's page tables under `mmap_sem` for read.
pub(crate) const KHUGEPAGED_SCAN_NS: u64 = 20_000;
/// `khugepaged_alloc_page` calling the allocator for the huge page.
pub(crate) const KHUGEPAGED_ALLOC_NS: u64 = 1_000;
/// `collapse_huge_page`: copying 512 small pages into the huge page.
pub(crate) const COLLAPSE_NS: u64 = 200_000;
/// khugepaged's `cond_resched` after a collapse.
pub(crate) const KHUGEPAGED_DONE_NS: u64 = 1_000;
/// `khugepaged_alloc_sleep_millisecs` (60 s): the sleep after a failed
/// huge-page allocation.
pub(crate) const KHUGEPAGED_ALLOC_SLEEP_NS: u64 = 60_000_000_000;

// ---- the write path and the page cache ---------------------------------------

/// `generic_perform_write` calling `iov_iter_fault_in_readable`'s fault, or
/// the allocator for a page-cache page, or `balance_dirty_pages_ratelimited`.
pub(crate) const WRITE_CALL_NS: u64 = 200;
/// `write_begin` finding the page in the page cache.
pub(crate) const WRITE_BEGIN_HIT_NS: u64 = 300;
/// Reading a page that is not up to date before a partial write (the
/// device read of `block_write_begin`).
pub(crate) const WRITE_BEGIN_READ_NS: u64 = 50_000;
/// `iov_iter_copy_from_user_atomic`, fixed part; the copy itself costs a
/// nanosecond per 8 bytes (about 8 GB/s).
pub(crate) const WRITE_COPY_NS: u64 = 300;
/// Bytes copied per nanosecond by `iov_iter_copy_from_user_atomic`.
pub(crate) const WRITE_COPY_BYTES_PER_NS: u64 = 8;
/// A write step that only moves on (the fault-in returned, the next chunk).
pub(crate) const WRITE_STEP_NS: u64 = 100;
/// `write` returning to the syscall (and the btrfs/iomap chunk set-up).
pub(crate) const WRITE_RETURN_NS: u64 = 150;
/// `generic_perform_write`'s `fatal_signal_pending` test passing.
pub(crate) const WRITE_CHECK_NS: u64 = 150;
/// Going round a chunk again after copying nothing.
pub(crate) const WRITE_RETRY_NS: u64 = 200;

// ---- jbd2 and the block device -----------------------------------------------

/// `jbd2_journal_commit_transaction` up to its descriptor-block allocation.
pub(crate) const JBD2_COMMIT_NS: u64 = 2_000;
/// The commit, from the descriptor block to the ordered-data wait.
pub(crate) const JBD2_LOCKED_NS: u64 = 1_000;
/// kjournald2's `cond_resched` after a commit.
pub(crate) const JBD2_DONE_NS: u64 = 1_000;
/// The device's fixed overhead per request (command processing).
pub(crate) const REQUEST_NS: u64 = 20_000;
/// The granularity of a crash window.
pub(crate) const CRASH_SLOT_NS: u64 = 1_000_000;
