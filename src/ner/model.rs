//! The trained weights, their compact file format, and Viterbi decoding.
//!
//! Tags are BIO over the four labels: `O`, `B-X` (1..=4), `I-X` (5..=8) in
//! [`Label::ALL`] order. A model is a set of rows, one per hashed feature id
//! that survived training, each holding a quantized weight per tag, plus tag
//! transition weights.
//!
//! File layout (little endian): magic `NPNER002`, `bits: u32`, `flags: u32`
//! (bit 0: decode twice, the second time with whole-document history), `rows: u32`,
//! `scale: f32`, start weights `[i16; 9]`, transition weights `[[i16; 9]; 9]`,
//! then per row, in increasing id order, the id delta as a LEB128 varint and
//! `[i16; 9]`; then the word-class lexicon ([`Lexicon::encode`]).
//! Weight = quantized value * scale.

use super::lexicon::Lexicon;
use crate::error::Error;
use crate::record::Label;

/// Number of BIO tags.
pub(crate) const NTAGS: usize = 9;
const MAGIC: &[u8; 8] = b"NPNER002";
/// The format before word classes: the same without the lexicon section.
/// Still read (with an empty lexicon), so older model files keep working.
const MAGIC_V1: &[u8; 8] = b"NPNER001";

/// The BIO tag `B-label`.
pub(crate) fn begin(label: Label) -> u8 {
    label_index(label) + 1
}

/// The BIO tag `I-label`.
pub(crate) fn inside(label: Label) -> u8 {
    label_index(label) + 5
}

fn label_index(label: Label) -> u8 {
    match label {
        Label::Per => 0,
        Label::Org => 1,
        Label::Loc => 2,
        Label::Misc => 3,
    }
}

/// Label of a non-`O` tag.
pub(crate) fn tag_label(tag: u8) -> Option<Label> {
    match tag {
        1..=8 => Some(Label::ALL[usize::from((tag - 1) % 4)]),
        _ => None,
    }
}

/// Whether `cur` may follow `prev` (`None` = sentence start): `I-X` only continues `X`.
pub(crate) fn allowed(prev: Option<u8>, cur: u8) -> bool {
    if cur < 5 {
        return true;
    }
    matches!(prev, Some(p) if p != 0 && tag_label(p) == tag_label(cur))
}

/// 64 ids of the presence bitmap, the number of present ids before them, and
/// the count within the block before each 16-id quarter: with those, a rank
/// needs only a 16-bit popcount, done by table (no POPCNT on baseline x86-64).
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    bits: u64,
    before: u32,
    quarter: [u8; 4],
}

/// Set bits per byte value.
const POP8: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    t
};

/// Weights ready for decoding.
#[derive(Debug)]
pub(crate) struct Model {
    pub bits: u32,
    /// Presence bitmap over all feature ids, with a running count of set
    /// bits per word: a rank structure that maps an id straight to its row.
    /// For 2^20 ids it is 256 KB, small enough to stay in cache, and unseen
    /// features (most of them, in new text) cost one cached load.
    blocks: Vec<Block>,
    /// Weights of the present ids, in id order.
    rows: Vec<[i16; NTAGS]>,
    scale: f32,
    /// Start and transition weights with the BIO constraints folded in, for decoding.
    pub folded: Transitions,
    /// Word classes the cluster and rarity features read.
    pub lexicon: Lexicon,
    /// Decode each document a second time with whole-document history.
    pub two_pass: bool,
}

/// Dense float weights as training produces them.
pub(crate) struct DenseWeights<'a> {
    pub bits: u32,
    /// `2^bits * NTAGS` emission weights.
    pub emit: &'a [f32],
    pub start: &'a [f32; NTAGS],
    pub trans: &'a [[f32; NTAGS]; NTAGS],
    pub lexicon: &'a Lexicon,
    pub two_pass: bool,
}

/// Serialize dense weights, dropping features whose largest weight magnitude
/// is below `prune` (after quantization) so the file stays small.
pub(crate) fn encode(dense: &DenseWeights<'_>, prune: i16) -> Vec<u8> {
    let mut max = 0f32;
    for v in dense
        .emit
        .iter()
        .chain(dense.start)
        .chain(dense.trans.iter().flatten())
    {
        max = max.max(v.abs());
    }
    let scale = if max > 0.0 {
        max / f32::from(i16::MAX)
    } else {
        1.0
    };
    let q = |v: f32| (v / scale).round().clamp(-32767.0, 32767.0) as i16;
    let mut rows: Vec<u8> = Vec::new();
    let mut nrows = 0u32;
    let mut last = 0u32;
    for (id, w) in dense.emit.chunks_exact(NTAGS).enumerate() {
        let qw: Vec<i16> = w.iter().map(|&v| q(v)).collect();
        if qw
            .iter()
            .all(|v| v.unsigned_abs() < prune.unsigned_abs().max(1))
        {
            continue;
        }
        let id = id as u32;
        write_varint(&mut rows, id - last);
        last = id;
        for v in qw {
            rows.extend_from_slice(&v.to_le_bytes());
        }
        nrows += 1;
    }
    let mut out = Vec::with_capacity(rows.len() + 256);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&dense.bits.to_le_bytes());
    out.extend_from_slice(&u32::from(dense.two_pass).to_le_bytes());
    out.extend_from_slice(&nrows.to_le_bytes());
    out.extend_from_slice(&scale.to_le_bytes());
    for v in dense.start.iter().chain(dense.trans.iter().flatten()) {
        out.extend_from_slice(&q(*v).to_le_bytes());
    }
    out.extend_from_slice(&rows);
    dense.lexicon.encode(&mut out);
    out
}

/// Append `v` as a LEB128 varint.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A cursor over model bytes that reports truncation as an error.
pub(crate) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| Error::Model("model file is truncated".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i16(&mut self) -> Result<i16, Error> {
        let b = self.take(2)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn varint(&mut self) -> Result<u32, Error> {
        let mut v = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            v |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::Model("bad varint in model file".into()))
    }
}

impl Model {
    /// Parse model bytes written by [`encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Result<Model, Error> {
        let mut r = Reader { bytes, pos: 0 };
        let magic = r.take(8)?;
        let has_lexicon = magic == MAGIC;
        if !has_lexicon && magic != MAGIC_V1 {
            return Err(Error::Model(
                "not a newspipe tagger model (bad magic)".into(),
            ));
        }
        let bits = r.u32()?;
        if !(8..=28).contains(&bits) {
            return Err(Error::Model(format!(
                "unsupported feature table size 2^{bits}"
            )));
        }
        let flags = if has_lexicon { r.u32()? } else { 0 };
        if flags > 1 {
            return Err(Error::Model(format!("unknown model flags {flags:#x}")));
        }
        let nrows = r.u32()? as usize;
        let scale = f32::from_bits(r.u32()?);
        let mut start = [0f32; NTAGS];
        for v in &mut start {
            *v = f32::from(r.i16()?) * scale;
        }
        let mut trans = [[0f32; NTAGS]; NTAGS];
        for v in trans.iter_mut().flatten() {
            *v = f32::from(r.i16()?) * scale;
        }
        let mut blocks = vec![Block::default(); (1usize << bits).div_ceil(64)];
        let mut rows = Vec::with_capacity(nrows.min(1 << bits));
        let mut id = 0u32;
        for n in 0..nrows {
            let delta = r.varint()?;
            id = id
                .checked_add(delta)
                .filter(|&i| i < 1 << bits && (n == 0 || delta > 0))
                .ok_or_else(|| Error::Model("feature id out of range or repeated".into()))?;
            let mut w = [0i16; NTAGS];
            for v in &mut w {
                *v = r.i16()?;
            }
            blocks[id as usize / 64].bits |= 1 << (id % 64);
            rows.push(w);
        }
        let mut before = 0u32;
        for b in &mut blocks {
            b.before = before;
            for q in 0..4 {
                b.quarter[q] = (b.bits & ((1u64 << (16 * q)) - 1)).count_ones() as u8;
            }
            before += b.bits.count_ones();
        }
        let lexicon = if has_lexicon {
            Lexicon::decode(&mut r)?
        } else {
            Lexicon::default()
        };
        if r.pos != bytes.len() {
            return Err(Error::Model("trailing bytes after model rows".into()));
        }
        Ok(Model {
            bits,
            blocks,
            rows,
            scale,
            folded: Transitions::new(&start, &trans),
            lexicon,
            two_pass: flags & 1 != 0,
        })
    }

    /// Add the quantized weights of feature `f` (if the model has it) to `acc`.
    #[inline]
    pub(crate) fn add(&self, f: u32, acc: &mut [i32; NTAGS]) {
        let Some(b) = self.blocks.get(f as usize / 64) else {
            return;
        };
        let bit = 1u64 << (f % 64);
        if b.bits & bit != 0 {
            let pos = f % 64;
            let q = (pos / 16) as usize;
            let below = (b.bits >> (q * 16)) as u16 & ((1u16 << (pos % 16)) - 1);
            let idx = b.before
                + u32::from(b.quarter[q])
                + u32::from(POP8[usize::from(below & 0xff)])
                + u32::from(POP8[usize::from(below >> 8)]);
            if let Some(row) = self.rows.get(idx as usize) {
                for (a, w) in acc.iter_mut().zip(row) {
                    *a += i32::from(*w);
                }
            }
        }
    }

    /// Scores from summed quantized weights.
    #[inline]
    pub(crate) fn scale(&self, acc: &[i32; NTAGS], out: &mut [f32; NTAGS]) {
        for (o, a) in out.iter_mut().zip(acc) {
            *o = *a as f32 * self.scale;
        }
    }

    /// Emission scores of one token from its feature ids.
    #[cfg(test)]
    pub(crate) fn emit(&self, feats: &[u32], out: &mut [f32; NTAGS]) {
        let mut acc = [0i32; NTAGS];
        for &f in feats {
            self.add(f, &mut acc);
        }
        self.scale(&acc, out);
    }
}

/// Start and transition weights with the BIO constraints folded in (a
/// forbidden step weighs minus infinity), so the decoder's inner loop has no
/// branches. A model folds its own once; training, whose weights move,
/// folds per sentence.
#[derive(Debug, Clone)]
pub(crate) struct Transitions {
    first: [f32; NTAGS],
    /// `tr[cur][prev]`.
    tr: [[f32; NTAGS]; NTAGS],
    /// `from[prev][cur]`: transitions into O and B-X, as lanes over `cur`.
    from: [[f32; 8]; NTAGS],
}

impl Transitions {
    /// Fold the BIO constraints into `start` and `trans` (`trans[prev][cur]`).
    pub(crate) fn new(start: &[f32; NTAGS], trans: &[[f32; NTAGS]; NTAGS]) -> Transitions {
        let mut first = [f32::NEG_INFINITY; NTAGS];
        let mut tr = [[f32::NEG_INFINITY; NTAGS]; NTAGS];
        for cur in 0..NTAGS {
            if allowed(None, cur as u8) {
                first[cur] = start[cur];
            }
            for prev in 0..NTAGS {
                if allowed(Some(prev as u8), cur as u8) {
                    tr[cur][prev] = trans[prev][cur];
                }
            }
        }
        // `from[prev][cur]`: transitions into O and B-X, as lanes over `cur`.
        let mut from = [[f32::NEG_INFINITY; 8]; NTAGS];
        for (prev, row) in from.iter_mut().enumerate() {
            for (cur, v) in row.iter_mut().take(5).enumerate() {
                *v = tr[cur][prev];
            }
        }
        Transitions { first, tr, from }
    }
}

/// Reusable Viterbi buffers.
#[derive(Debug, Default)]
pub(crate) struct Viterbi {
    back: Vec<[u8; NTAGS]>,
}

impl Viterbi {
    /// Best tag sequence for `emit` (one score row per token) under BIO
    /// constraints, written to `tags`.
    pub(crate) fn decode(
        &mut self,
        emit: &[[f32; NTAGS]],
        start: &[f32; NTAGS],
        trans: &[[f32; NTAGS]; NTAGS],
        tags: &mut Vec<u8>,
    ) {
        self.decode_folded(emit, &Transitions::new(start, trans), tags);
    }

    /// [`Viterbi::decode`] with transitions folded beforehand.
    pub(crate) fn decode_folded(
        &mut self,
        emit: &[[f32; NTAGS]],
        t: &Transitions,
        tags: &mut Vec<u8>,
    ) {
        tags.clear();
        let n = emit.len();
        if n == 0 {
            return;
        }
        self.back.clear();
        self.back.resize(n, [0; NTAGS]);
        let (first, tr, from) = (&t.first, &t.tr, &t.from);
        let mut score = [0f32; NTAGS];
        for t in 0..NTAGS {
            score[t] = first[t] + emit[0][t];
        }
        for (e, back) in emit.iter().zip(self.back.iter_mut()).skip(1) {
            let mut next = [0f32; NTAGS];
            // O and B-X may follow any tag. Lanes over `cur` (padded to 8)
            // with `prev` outside let the compiler vectorize; taking only a
            // strictly better `prev`, in increasing order, keeps the ties of
            // a scalar loop.
            let mut best = [f32::NEG_INFINITY; 8];
            let mut arg = [0u32; 8];
            for (prev, row) in from.iter().enumerate() {
                let sp = score[prev];
                for k in 0..8 {
                    let s = sp + row[k];
                    let better = s > best[k];
                    best[k] = if better { s } else { best[k] };
                    arg[k] = if better { prev as u32 } else { arg[k] };
                }
            }
            for cur in 0..5 {
                next[cur] = best[cur] + e[cur];
                back[cur] = arg[cur] as u8;
            }
            // I-X only continues B-X or I-X.
            for cur in 5..NTAGS {
                let (b, i) = (cur - 4, cur);
                let sb = score[b] + tr[cur][b];
                let si = score[i] + tr[cur][i];
                let (best, arg) = if si > sb { (si, i) } else { (sb, b) };
                next[cur] = best + e[cur];
                back[cur] = arg as u8;
            }
            score = next;
        }
        let mut best = 0;
        for t in 1..NTAGS {
            if score[t] > score[best] {
                best = t;
            }
        }
        tags.resize(n, 0);
        let mut t = best as u8;
        for i in (0..n).rev() {
            tags[i] = t;
            t = self.back[i][usize::from(t)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bio_constraints_forbid_inside_without_begin() {
        let i_per = inside(Label::Per);
        assert!(!allowed(None, i_per));
        assert!(!allowed(Some(0), i_per));
        assert!(!allowed(Some(begin(Label::Org)), i_per));
        assert!(allowed(Some(begin(Label::Per)), i_per));
        assert!(allowed(Some(i_per), i_per));
    }

    /// Plain Viterbi over all tag pairs, `allowed` checked in the loop, ties
    /// to the lowest previous tag.
    fn reference_decode(
        emit: &[[f32; NTAGS]],
        start: &[f32; NTAGS],
        trans: &[[f32; NTAGS]; NTAGS],
    ) -> Vec<u8> {
        if emit.is_empty() {
            return Vec::new();
        }
        let mut score = [f32::NEG_INFINITY; NTAGS];
        for t in 0..NTAGS {
            if allowed(None, t as u8) {
                score[t] = start[t] + emit[0][t];
            }
        }
        let mut back = vec![[0u8; NTAGS]; emit.len()];
        for (i, e) in emit.iter().enumerate().skip(1) {
            let mut next = [f32::NEG_INFINITY; NTAGS];
            for cur in 0..NTAGS {
                let mut best = f32::NEG_INFINITY;
                for prev in 0..NTAGS {
                    if !allowed(Some(prev as u8), cur as u8) {
                        continue;
                    }
                    let s = score[prev] + trans[prev][cur];
                    if s > best {
                        best = s;
                        back[i][cur] = prev as u8;
                    }
                }
                next[cur] = best + e[cur];
            }
            score = next;
        }
        let mut t = 0;
        for c in 1..NTAGS {
            if score[c] > score[t] {
                t = c;
            }
        }
        let mut tags = vec![0u8; emit.len()];
        for i in (0..emit.len()).rev() {
            tags[i] = t as u8;
            t = usize::from(back[i][t]);
        }
        tags
    }

    #[test]
    fn viterbi_matches_reference_including_ties() {
        let mut state = 7u64;
        let mut rand = |levels: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Few distinct values, so ties are common.
            ((state >> 33) % levels) as f32 * 0.5 - 1.0
        };
        let mut v = Viterbi::default();
        let mut tags = Vec::new();
        for round in 0..400 {
            let levels = if round % 2 == 0 { 3 } else { 1000 };
            let mut start = [0f32; NTAGS];
            let mut trans = [[0f32; NTAGS]; NTAGS];
            start.iter_mut().for_each(|x| *x = rand(levels));
            trans.iter_mut().flatten().for_each(|x| *x = rand(levels));
            let n = round % 13;
            let emit: Vec<[f32; NTAGS]> = (0..n)
                .map(|_| {
                    let mut e = [0f32; NTAGS];
                    e.iter_mut().for_each(|x| *x = rand(levels));
                    e
                })
                .collect();
            v.decode(&emit, &start, &trans, &mut tags);
            assert_eq!(
                tags,
                reference_decode(&emit, &start, &trans),
                "round {round}"
            );
        }
    }

    #[test]
    fn viterbi_repairs_an_inside_tag_after_outside() {
        // Token 1 prefers I-PER, which cannot follow O; the decoder must pick
        // the best legal path (B-PER I-PER) rather than the greedy one.
        let mut e = [[0f32; NTAGS]; 2];
        e[0][0] = 1.0;
        e[0][usize::from(begin(Label::Per))] = 0.8;
        e[1][usize::from(inside(Label::Per))] = 2.0;
        let mut v = Viterbi::default();
        let mut tags = Vec::new();
        v.decode(&e, &[0.0; NTAGS], &[[0.0; NTAGS]; NTAGS], &mut tags);
        assert_eq!(tags, [begin(Label::Per), inside(Label::Per)]);
    }

    #[test]
    fn encode_decode_round_trips_and_prunes() {
        let bits = 8;
        let mut emit = vec![0f32; (1 << bits) * NTAGS];
        emit[3 * NTAGS + 1] = 2.0;
        emit[200 * NTAGS + 5] = -1.0;
        emit[7 * NTAGS] = 1e-6; // pruned
        let start = [0.5; NTAGS];
        let trans = [[0.25; NTAGS]; NTAGS];
        let bytes = encode(
            &DenseWeights {
                bits,
                emit: &emit,
                start: &start,
                trans: &trans,
                lexicon: &Lexicon::default(),
                two_pass: false,
            },
            1,
        );
        let m = Model::decode(&bytes).unwrap();
        let mut out = [0f32; NTAGS];
        m.emit(&[3, 200, 7], &mut out);
        assert!((out[1] - 2.0).abs() < 1e-3 && (out[5] + 1.0).abs() < 1e-3);
        assert_eq!(out[0], 0.0);
        assert!((m.folded.first[0] - 0.5).abs() < 1e-3);
    }

    #[test]
    fn decode_rejects_garbage_and_truncation() {
        assert!(Model::decode(b"nonsense").is_err());
        let emit = vec![1f32; 256 * NTAGS];
        let bytes = encode(
            &DenseWeights {
                bits: 8,
                emit: &emit,
                start: &[0.0; NTAGS],
                trans: &[[0.0; NTAGS]; NTAGS],
                lexicon: &Lexicon::default(),
                two_pass: false,
            },
            1,
        );
        assert!(Model::decode(&bytes[..bytes.len() - 3]).is_err());
    }
}
