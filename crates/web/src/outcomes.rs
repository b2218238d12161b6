//! How the page presents an outcome: its tone (which decides the colour and
//! the icon, the same in chips, histograms and buckets) and a sentence saying
//! what it means, for tooltips. Only `correct` reads as good; a fix that
//! engaged or a diagnostic is neutral, because a run that has one can still
//! have corrupted a file.

use oomlab_core::Outcome;

/// The visual class of an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    /// Nothing went wrong.
    Ok,
    /// Neither good nor bad by itself: a fix engaged, a diagnostic.
    Info,
    /// Worth a look: the kernel had to work harder than it should.
    Warn,
    /// The system failed (hang, panic, the run's budget).
    Fail,
    /// A file holds bytes nobody wrote there.
    Corrupt,
}

impl Tone {
    pub fn of(o: Outcome) -> Tone {
        match o {
            Outcome::ZerosInFile
            | Outcome::GarbageInFile
            | Outcome::StaleBeyondIsize
            | Outcome::ZerosBeyondIsize => Tone::Corrupt,
            Outcome::OomPanic | Outcome::OomHang | Outcome::BudgetExhausted => Tone::Fail,
            Outcome::ReaperGaveUp | Outcome::Overkill => Tone::Warn,
            Outcome::FixEngaged | Outcome::UserRanAfterReap => Tone::Info,
            Outcome::Correct => Tone::Ok,
        }
    }

    pub fn of_code(code: &str) -> Tone {
        Outcome::from_code(code).map_or(Tone::Info, Tone::of)
    }

    /// The CSS class (`tone-corrupt`, ...).
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "tone-ok",
            Tone::Info => "tone-info",
            Tone::Warn => "tone-warn",
            Tone::Fail => "tone-fail",
            Tone::Corrupt => "tone-corrupt",
        }
    }

    /// An icon, so the tone does not rest on colour alone.
    pub fn icon(self) -> &'static str {
        match self {
            Tone::Ok => "✔",
            Tone::Info => "◆",
            Tone::Warn => "●",
            Tone::Fail => "▲",
            Tone::Corrupt => "✖",
        }
    }
}

/// What an outcome means, in a sentence (a chip's tooltip).
pub fn describe(o: Outcome) -> &'static str {
    match o {
        Outcome::Correct => {
            "Every byte inside each file, as read back from disk, is the byte the program wrote (a file may be short)."
        }
        Outcome::ZerosInFile => {
            "A file holds a run of zeros copied from the zero page: a writer faulted on a page the OOM reaper had unmapped."
        }
        Outcome::GarbageInFile => {
            "A file holds bytes from memory that no thread wrote there (a hypothesis toggle)."
        }
        Outcome::StaleBeyondIsize => {
            "After the crash, a file holds bytes nobody wrote in this run: stale blocks of deleted files, past the on-disk size (i_disksize) the file had when the first SIGKILL was sent."
        }
        Outcome::ZerosBeyondIsize => {
            "After the crash, a file holds zeros from a discarded or never-written block, past the on-disk size it had when the first SIGKILL was sent."
        }
        Outcome::OomPanic => "The OOM killer found no process left to kill and panicked.",
        Outcome::OomHang => {
            "No forward progress for longer than the hang threshold while free memory sat at or below the min watermark."
        }
        Outcome::BudgetExhausted => {
            "The run hit its step or time limit before every task exited: the result is incomplete."
        }
        Outcome::ReaperGaveUp => {
            "The OOM reaper failed down_read_trylock(mmap_sem) ten times, gave up and set MMF_OOM_SKIP."
        }
        Outcome::Overkill => "The OOM killer needed more than one victim.",
        Outcome::FixEngaged => {
            "The unstable_check caught a refault of a reaped page (MMF_UNSTABLE) and failed it with SIGBUS/EFAULT: check_stable_address_space before any PTE is set (pre_pte), or the end of handle_mm_fault after the fault was handled (post_fault)."
        }
        Outcome::UserRanAfterReap => {
            "A diagnostic: a victim thread ran in user mode after MMF_UNSTABLE was set. Not an error by itself."
        }
    }
}

pub fn describe_code(code: &str) -> &'static str {
    Outcome::from_code(code).map_or("", describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_correct_is_ok_and_corruption_is_corrupt() {
        for o in Outcome::ALL {
            assert_eq!(Tone::of(o) == Tone::Ok, o == Outcome::Correct, "{o:?}");
            // Everything that severity calls data corruption is red.
            if o.severity() == 3 {
                assert_eq!(Tone::of(o), Tone::Corrupt, "{o:?}");
            }
            assert!(!describe(o).is_empty());
        }
        assert_eq!(Tone::of(Outcome::UserRanAfterReap), Tone::Info);
        assert_eq!(Tone::of(Outcome::StaleBeyondIsize), Tone::Corrupt);
    }
}
