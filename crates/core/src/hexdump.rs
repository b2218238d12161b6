//! Hex dumps of a file's bytes as derived data, for the UI: rows of 16 bytes,
//! each byte with its provenance class, in the styles of `od -x` (little-endian
//! 16-bit words in hex) and `od -b` (bytes in octal).
//!
//! Built from [`crate::fs::Inode::content`] (after the run: the file as read
//! back from disk); a byte inside the size that no run covers is a hole
//! (reads as zero, like a sparse file). Bytes of a stale disk block are not
//! stored: they follow from the block number (`fs::block::stale_byte`).
//! Offsets are printed in hex (`od -A x`), since evidence offsets are given
//! in hex. Not modelled: od's `*` collapsing of repeated lines (the UI
//! virtualizes instead).

use crate::fs::block::stale_byte;
use crate::fs::{Inode, Prov, Run};
use crate::scenario::PAGE_SIZE;

pub const ROW_BYTES: u64 = 16;

/// Where a byte came from, as the UI colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ByteClass {
    /// Copied from the writer's buffer and equal to what it meant to write.
    Expected,
    /// Copied through a stale TLB entry (the old page, still intact).
    StaleTlb,
    /// Written through a shared file mapping.
    MmapStore,
    /// Zeroed by the filesystem for a short copy.
    NewBuffer,
    /// Never written: a hole inside `i_size`, reads as zero.
    Hole,
    /// Zeros of a disk block that was never written.
    NeverWritten,
    /// Zeros of a disk block discarded on a read-zero-after-TRIM device.
    Discarded,
    /// Text or random bytes a disk block held before the run (a deleted
    /// file's data), exposed after a crash.
    StaleDisk,
    /// Copied, but not the byte the application meant to write.
    Wrong,
    /// Copied from the zero page after the reaper unmapped the buffer.
    ZeroPage,
}

impl ByteClass {
    /// Stable CSS-friendly name.
    pub fn name(self) -> &'static str {
        match self {
            ByteClass::Expected => "expected",
            ByteClass::StaleTlb => "stale_tlb",
            ByteClass::MmapStore => "mmap_store",
            ByteClass::NewBuffer => "new_buffer",
            ByteClass::Hole => "hole",
            ByteClass::NeverWritten => "never_written",
            ByteClass::Discarded => "discarded",
            ByteClass::StaleDisk => "stale_disk",
            ByteClass::Wrong => "wrong",
            ByteClass::ZeroPage => "zero_page",
        }
    }

    /// True for bytes that are not what the application wrote.
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            ByteClass::ZeroPage
                | ByteClass::Wrong
                | ByteClass::NewBuffer
                | ByteClass::StaleDisk
                | ByteClass::Discarded
                | ByteClass::NeverWritten
        )
    }

    /// Every class, best first (for legends).
    pub const ALL: [ByteClass; 10] = [
        ByteClass::Expected,
        ByteClass::StaleTlb,
        ByteClass::MmapStore,
        ByteClass::NewBuffer,
        ByteClass::Hole,
        ByteClass::NeverWritten,
        ByteClass::Discarded,
        ByteClass::StaleDisk,
        ByteClass::Wrong,
        ByteClass::ZeroPage,
    ];

    fn of(run: &Run) -> ByteClass {
        match run.prov {
            Prov::ZeroPage => ByteClass::ZeroPage,
            Prov::NewBuffer => ByteClass::NewBuffer,
            Prov::StaleText | Prov::StaleRandom => ByteClass::StaleDisk,
            Prov::Discarded => ByteClass::Discarded,
            Prov::NeverWritten => ByteClass::NeverWritten,
            _ if run.value != run.expected => ByteClass::Wrong,
            Prov::StaleTlb => ByteClass::StaleTlb,
            Prov::MmapStore => ByteClass::MmapStore,
            Prov::Copied => ByteClass::Expected,
        }
    }
}

/// `od -x` or `od -b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OdStyle {
    /// 16-bit little-endian words in hex: `ffff`.
    Hex,
    /// Bytes in octal: `377`.
    Octal,
}

/// One contiguous range of identical bytes, or of one stale block's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    /// Every byte's value, unless `stale` is set.
    pub value: u8,
    pub class: ByteClass,
    /// Trace index of the event that wrote it (None for holes and disk
    /// provenance).
    pub event: Option<u64>,
    /// For bytes a disk block held before the run: the provenance and the
    /// block, from which each byte follows.
    pub stale: Option<(Prov, u64)>,
}

impl Span {
    fn byte_at(&self, off: u64) -> u8 {
        match self.stale {
            Some((prov, lba)) => stale_byte(prov, lba, off % PAGE_SIZE),
            None => self.value,
        }
    }
}

/// Where the UI draws markers on a file's dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Markers {
    /// `i_size` in memory when the run ended.
    pub i_size: u64,
    /// `S_ack`: bytes the writes acknowledged.
    pub acked: u64,
    /// The durable on-disk size at the first fatal signal.
    pub disk_size_at_kill: Option<u64>,
    /// The size read back from disk (the dump's length after the run).
    pub disk_size: u64,
}

/// One printed cell: a word (`od -x`) or a byte (`od -b`), classed by its
/// worst byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub class: ByteClass,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub offset: u64,
    pub offset_text: String,
    pub cells: Vec<Cell>,
}

/// A file's bytes, as sorted non-overlapping spans covering `0..len`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexDump {
    pub len: u64,
    spans: Vec<Span>,
    pub markers: Markers,
}

impl HexDump {
    /// The dump of a file as it reads (after the run: as read back from
    /// disk; during it, the page cache and the blocks of evicted pages),
    /// with its size markers.
    pub fn from_inode(ino: &Inode, dev: &crate::fs::block::BlockDev) -> HexDump {
        let mut d = HexDump::from_content(ino.size(), &ino.content_live(dev));
        d.markers = Markers {
            i_size: ino.i_size,
            acked: ino.acked,
            disk_size_at_kill: ino.disk_size_at_kill,
            disk_size: ino.size(),
        };
        d
    }

    /// Builds the dump of the first `i_size` bytes from `Inode::content()`.
    pub fn from_content(i_size: u64, content: &[(u64, Run)]) -> HexDump {
        let mut runs: Vec<(u64, &Run)> = content.iter().map(|(o, r)| (*o, r)).collect();
        runs.sort_by_key(|(o, _)| *o);
        let mut spans: Vec<Span> = Vec::new();
        let mut pos = 0u64;
        let push = |spans: &mut Vec<Span>, s: Span| {
            if let Some(last) = spans.last_mut() {
                if last.end == s.start
                    && last.value == s.value
                    && last.class == s.class
                    && last.event == s.event
                    && last.stale == s.stale
                {
                    last.end = s.end;
                    return;
                }
            }
            spans.push(s);
        };
        for (off, run) in runs {
            let start = off.max(pos);
            let end = (off + u64::from(run.len)).min(i_size);
            if start >= end {
                continue;
            }
            if start > pos {
                push(&mut spans, hole(pos, start));
            }
            let disk = run.prov.is_disk();
            push(
                &mut spans,
                Span {
                    start,
                    end,
                    value: run.value,
                    class: ByteClass::of(run),
                    event: (!disk).then_some(run.event),
                    stale: run.prov.is_stale().then_some((run.prov, run.lba)),
                },
            );
            pos = end;
        }
        if pos < i_size {
            push(&mut spans, hole(pos, i_size));
        }
        HexDump {
            len: i_size,
            spans,
            markers: Markers {
                i_size,
                disk_size: i_size,
                ..Markers::default()
            },
        }
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Number of 16-byte rows.
    pub fn rows(&self) -> u64 {
        self.len.div_ceil(ROW_BYTES)
    }

    /// The span holding byte `off`, if inside the file.
    pub fn span_at(&self, off: u64) -> Option<&Span> {
        if off >= self.len {
            return None;
        }
        let i = self.spans.partition_point(|s| s.end <= off);
        self.spans.get(i)
    }

    /// The byte at `off` and its class.
    pub fn byte(&self, off: u64) -> Option<(u8, ByteClass)> {
        self.span_at(off).map(|s| (s.byte_at(off), s.class))
    }

    /// The first byte that is not what the application wrote.
    pub fn first_bad(&self) -> Option<u64> {
        self.spans
            .iter()
            .find(|s| s.class.is_bad())
            .map(|s| s.start)
    }

    /// Row `i` (offset `i * 16`) in the given style.
    pub fn row(&self, i: u64, style: OdStyle) -> Row {
        let offset = i * ROW_BYTES;
        let end = (offset + ROW_BYTES).min(self.len);
        let bytes: Vec<(u8, ByteClass)> = (offset..end).filter_map(|o| self.byte(o)).collect();
        let cells = match style {
            OdStyle::Octal => bytes
                .iter()
                .map(|&(v, class)| Cell {
                    text: format!("{v:03o}"),
                    class,
                })
                .collect(),
            OdStyle::Hex => bytes
                .chunks(2)
                .map(|w| {
                    let lo = w[0];
                    // od pads an odd trailing byte with a zero high byte.
                    let hi = w.get(1).copied().unwrap_or((0, lo.1));
                    Cell {
                        text: format!("{:04x}", u16::from(hi.0) << 8 | u16::from(lo.0)),
                        class: lo.1.max(hi.1),
                    }
                })
                .collect(),
        };
        Row {
            offset,
            offset_text: format!("{offset:07x}"),
            cells,
        }
    }
}

fn hole(start: u64, end: u64) -> Span {
    Span {
        start,
        end,
        value: 0,
        class: ByteClass::Hole,
        event: None,
        stale: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(off: u16, len: u16, value: u8, prov: Prov) -> Run {
        Run {
            off,
            len,
            value,
            expected: 0xff,
            prov,
            pid: 7,
            event: 42,
            lba: crate::fs::NO_BLOCK,
        }
    }

    fn sample() -> HexDump {
        // 0..32 copied 0xff, 32..48 zero page, 48..56 hole, 56..64 copied,
        // and a run past i_size = 60 that must be clipped.
        HexDump::from_content(
            60,
            &[
                (0, run(0, 16, 0xff, Prov::Copied)),
                (16, run(16, 16, 0xff, Prov::Copied)),
                (32, run(32, 16, 0, Prov::ZeroPage)),
                (56, run(56, 100, 0xff, Prov::Copied)),
            ],
        )
    }

    #[test]
    fn spans_merge_fill_holes_and_clip() {
        let d = sample();
        let s = d.spans();
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(
            (s[0].start, s[0].end, s[0].class),
            (0, 32, ByteClass::Expected)
        );
        assert_eq!(
            (s[1].start, s[1].end, s[1].class),
            (32, 48, ByteClass::ZeroPage)
        );
        assert_eq!(
            (s[2].start, s[2].end, s[2].class),
            (48, 56, ByteClass::Hole)
        );
        assert_eq!((s[3].start, s[3].end), (56, 60));
        assert_eq!(d.rows(), 4);
        assert_eq!(d.first_bad(), Some(32));
        assert_eq!(d.byte(33), Some((0, ByteClass::ZeroPage)));
        assert_eq!(d.byte(60), None);
    }

    #[test]
    fn od_x_prints_little_endian_words() {
        let d = HexDump::from_content(
            4,
            &[
                (
                    0,
                    Run {
                        value: 0x01,
                        ..run(0, 1, 0, Prov::Copied)
                    },
                ),
                (
                    1,
                    Run {
                        value: 0x02,
                        ..run(1, 1, 0, Prov::Copied)
                    },
                ),
                (2, run(2, 2, 0, Prov::ZeroPage)),
            ],
        );
        let r = d.row(0, OdStyle::Hex);
        assert_eq!(r.offset_text, "0000000");
        let texts: Vec<&str> = r.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["0201", "0000"]);
        // 0x01, 0x02 differ from the expected 0xff.
        assert_eq!(r.cells[0].class, ByteClass::Wrong);
        assert_eq!(r.cells[1].class, ByteClass::ZeroPage);
    }

    #[test]
    fn od_b_prints_octal_bytes_and_rows_end_at_i_size() {
        let d = sample();
        let r = d.row(2, OdStyle::Octal);
        assert_eq!(r.offset_text, "0000020");
        assert_eq!(r.cells.len(), 16);
        assert!(r
            .cells
            .iter()
            .all(|c| c.text == "000" && c.class == ByteClass::ZeroPage));
        let last = d.row(3, OdStyle::Octal);
        assert_eq!(last.cells.len(), 12);
        assert_eq!(last.cells[0].class, ByteClass::Hole);
        assert_eq!(last.cells[11].text, "377");
        let hex = d.row(0, OdStyle::Hex);
        assert_eq!(hex.cells.len(), 8);
        assert!(hex.cells.iter().all(|c| c.text == "ffff"));
    }

    #[test]
    fn odd_trailing_byte_is_padded() {
        let d = HexDump::from_content(3, &[(0, run(0, 3, 0xff, Prov::Copied))]);
        let r = d.row(0, OdStyle::Hex);
        let texts: Vec<&str> = r.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["ffff", "00ff"]);
    }
}
