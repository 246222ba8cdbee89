//! The worker side of a cluster run (`deploy/spark/`): the steps that need
//! one article, or one connected group of articles, at a time.
//!
//! A run over a corpus that one machine cannot hold splits dedup in two.
//! Fingerprints are computed where the files are ([`fingerprint`]); the
//! engine links two articles when they share an exact key, or share an LSH
//! bucket and pass verification ([`verify`]), or share a bucket of more
//! than [`crate::dedup::MAX_BUCKET_WALK`] members; it closes the links into
//! connected components and hands each component, in input order, to
//! [`resolve`], which runs the same [`DedupIndex`] as a batch run over it.
//!
//! That gives every article the verdict one run over the whole corpus gives
//! it. A lookup's verdict is the best *verified* candidate among the stored
//! articles of its buckets, or its exact key's canonical; a candidate that
//! fails verification changes nothing, unless it takes one of the at most
//! `MAX_BUCKET_WALK` places a bucket's walk visits, which only a bucket with
//! more members than that can do, and such a bucket links all its members.
//! So everything a verdict depends on, transitively through the verdicts of
//! earlier articles (which decide who is stored), is in its component, in
//! the same order. An article linked to nothing is unique.
//!
//! The records themselves are then written by `newspipe run --files-from
//! --verdicts` over each part, so they are byte for byte a batch run's.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::dedup::{DedupIndex, NearParams, RetainingIndex, Signature};
use crate::error::{Error, Result};
use crate::pipeline::Core;
use crate::record::{DedupInfo, DedupStatus, Fingerprint};
use crate::source::{read_listed, walk, Emitter, Entry, InputConfig};

/// The entries of `root` in the order a batch run reads them, relative to
/// `root`, refused ones included (reading them again refuses them again).
pub fn list(root: &Path, cfg: &InputConfig) -> Vec<String> {
    let mut rels = Vec::new();
    walk(root, cfg, &mut |entry: Entry| {
        rels.push(entry.rel().to_owned());
        true
    });
    rels
}

/// One article's dedup inputs, as [`fingerprint`] prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Printed {
    /// Position in the part's input order (the `seq` a batch run over the
    /// same listed files gives it).
    pub seq: u64,
    /// The article's id.
    pub id: String,
    /// Exact key.
    pub exact: u64,
    /// MinHash values then the shingle count (empty without near matching).
    pub minhash: Vec<u32>,
    /// LSH bucket keys, one per band.
    pub bands: Vec<u32>,
}

/// Read `rels` under `root` as a batch run would, run every stage before the
/// dedup verdict, and print one [`Printed`] line per article that reaches it
/// (rejected inputs print nothing: the writing run reports them). Runs on
/// the calling thread: the engine runs one such task per core.
pub fn fingerprint(
    core: &Core,
    root: &Path,
    rels: &[String],
    cfg: &InputConfig,
    out: &mut dyn Write,
) -> Result<()> {
    let keys = RetainingIndex::new(core.dedup_config().near_params().cloned(), u64::MAX);
    let stop = AtomicBool::new(false);
    let mut failed = None;
    let mut emit = |input| {
        let Ok((article, _)) = core.stages().prepare(input) else {
            return true;
        };
        let Some(fp) = &article.fingerprint else {
            return true;
        };
        let line = Printed {
            seq: article.seq,
            id: article.id.clone(),
            exact: fp.exact,
            bands: keys.band_keys(&fp.minhash),
            minhash: fp.minhash.clone(),
        };
        let written = serde_json::to_writer(&mut *out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        match written {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    };
    read_listed(root, rels, cfg, &mut Emitter::new(&mut emit, &stop));
    match failed {
        Some(e) => Err(Error::Output(e)),
        None => out.flush().map_err(Error::Output),
    }
}

/// One line of [`resolve`]'s input: a member of a connected component.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    /// The component; members of one component are consecutive.
    pub component: String,
    /// For an earlier run's signature: `canonical` or `alias`; absent for an
    /// article of this run.
    #[serde(default)]
    pub earlier: Option<String>,
    /// The part (task) the article is in; absent for an earlier signature.
    #[serde(default)]
    pub part: Option<u64>,
    /// Its `seq` within the part.
    #[serde(default)]
    pub seq: Option<u64>,
    /// The article's id (an alias: its canonical's id).
    pub id: String,
    /// Exact key.
    pub exact: u64,
    /// MinHash values then the shingle count.
    #[serde(default)]
    pub minhash: Vec<u32>,
}

/// One line of [`resolve`]'s output: the verdict of a duplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The part the article is in.
    pub part: u64,
    /// Its `seq` within the part.
    pub seq: u64,
    /// The verdict, as the record carries it.
    pub dedup: DedupInfo,
}

/// What [`resolve`] did, for the engine's cost report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Components decided.
    pub components: u64,
    /// Members read (articles and earlier signatures).
    pub members: u64,
    /// Members in the largest component: what one task must hold at once.
    pub largest: u64,
}

/// Decide each component read from `input` (JSON lines of [`Member`]s,
/// grouped by component, each group in input order with the earlier runs'
/// signatures first) with a fresh index, as one batch run over everything
/// would, and write a [`Verdict`] line for every duplicate to `out`.
pub fn resolve(
    near: Option<&NearParams>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Resolved> {
    let mut stats = Resolved::default();
    let mut current: Option<String> = None;
    let mut index = DedupIndex::new(near.cloned());
    let mut size = 0u64;
    // A component's earlier signatures, restored together before its first
    // article of this run (an alias names a canonical restored with it).
    let mut earlier: Vec<Signature> = Vec::new();
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = input.read_line(&mut line).map_err(Error::Output)?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::Config(format!("spark resolve: input line {number}: {why}"));
        let m: Member = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if current.as_deref() != Some(m.component.as_str()) {
            stats.largest = stats.largest.max(size);
            stats.components += 1;
            size = 0;
            index = DedupIndex::new(near.cloned());
            earlier.clear();
            current = Some(m.component.clone());
        }
        size += 1;
        stats.members += 1;
        let fp = Fingerprint {
            exact: m.exact,
            minhash: m.minhash,
        };
        match m.earlier.as_deref() {
            Some("canonical") => earlier.push(Signature::Canonical { id: m.id, fp }),
            Some("alias") => earlier.push(Signature::Alias {
                exact: fp.exact,
                canonical: m.id,
            }),
            Some(other) => return Err(bad(format!("unknown earlier kind {other:?}"))),
            None => {
                let (Some(part), Some(seq)) = (m.part, m.seq) else {
                    return Err(bad("an article needs `part` and `seq`".into()));
                };
                if !earlier.is_empty() {
                    index.restore(&earlier).map_err(bad)?;
                    earlier.clear();
                }
                let dedup = index.check_and_insert(&m.id, &fp);
                if dedup.status != DedupStatus::Unique {
                    serde_json::to_writer(&mut *out, &Verdict { part, seq, dedup })
                        .map_err(|e| Error::Output(e.into()))?;
                    out.write_all(b"\n").map_err(Error::Output)?;
                }
            }
        }
    }
    stats.largest = stats.largest.max(size);
    out.flush().map_err(Error::Output)?;
    Ok(stats)
}

/// Check candidate pairs: each input line is a JSON array `[a, b, ma, mb]`
/// (two node names of any JSON type and their MinHash); the line `[a, b]` is
/// written for each pair that passes the verification a lookup applies
/// ([`DedupIndex::verifies`]). Returns the pairs read and passed.
pub fn verify(
    near: Option<&NearParams>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let index = DedupIndex::new(near.cloned());
    let (mut read, mut passed) = (0u64, 0u64);
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(Error::Output)?;
        if line.trim().is_empty() {
            continue;
        }
        type Pair = (serde_json::Value, serde_json::Value, Vec<u32>, Vec<u32>);
        let (a, b, ma, mb): Pair = serde_json::from_str(&line)
            .map_err(|e| Error::Config(format!("spark verify: input line {}: {e}", i + 1)))?;
        read += 1;
        if index.verifies(&ma, &mb) {
            passed += 1;
            serde_json::to_writer(&mut *out, &(a, b)).map_err(|e| Error::Output(e.into()))?;
            out.write_all(b"\n").map_err(Error::Output)?;
        }
    }
    out.flush().map_err(Error::Output)?;
    Ok((read, passed))
}

/// Read verdicts ([`Verdict`] lines) for one part, keyed by `seq`, as
/// `newspipe run --verdicts` takes them. Lines of other parts are an error:
/// they would be silently ignored otherwise.
pub fn read_verdicts(input: &mut dyn BufRead) -> Result<HashMap<u64, DedupInfo>> {
    let mut verdicts = HashMap::new();
    let mut part = None;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(Error::Output)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::Config(format!("--verdicts: line {}: {why}", i + 1));
        let v: Verdict = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if *part.get_or_insert(v.part) != v.part {
            return Err(bad(format!(
                "verdicts of parts {part:?} and {} mixed",
                v.part
            )));
        }
        verdicts.insert(v.seq, v.dedup);
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::Fingerprinter;

    /// A corpus with a chain (B copies A, C copies B but not A) and an exact
    /// copy, decided by one index and by components: the same verdicts.
    #[test]
    fn components_decide_as_one_index_does() {
        let params = NearParams::default();
        let f = Fingerprinter::new(Some(&params));
        let words: Vec<String> = (0..120).map(|i| format!("w{i}")).collect();
        let a = words[..80].join(" ");
        let b = words[20..100].join(" ");
        let c = words[40..120].join(" ");
        let other = (0..80)
            .map(|i| format!("x{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let texts = [a.clone(), b, c, other, a];
        let mut one = DedupIndex::new(Some(params.clone()));
        let expected: Vec<DedupInfo> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| one.check_and_insert(&format!("id{i}"), &f.fingerprint(t)))
            .collect();
        // Everything in one component, in order: the same index, so the
        // same verdicts; the point is the protocol round trip.
        let mut input = String::new();
        for (i, t) in texts.iter().enumerate() {
            let fp = f.fingerprint(t);
            let comp = if i == 3 { "solo" } else { "c" };
            input.push_str(
                &serde_json::json!({
                    "component": comp, "part": 0, "seq": i, "id": format!("id{i}"),
                    "exact": fp.exact, "minhash": fp.minhash,
                })
                .to_string(),
            );
            input.push('\n');
        }
        // Group the members as an engine would: component "c" first, then "solo".
        let mut lines: Vec<&str> = input.lines().collect();
        lines.sort_by_key(|l| l.contains("\"solo\""));
        let grouped = lines.join("\n");
        let mut out = Vec::new();
        let stats = resolve(Some(&params), &mut grouped.as_bytes(), &mut out).unwrap();
        assert_eq!(stats.components, 2);
        assert_eq!(stats.largest, 4);
        let got = read_verdicts(&mut out.as_slice()).unwrap();
        for (i, e) in expected.iter().enumerate() {
            let g = got.get(&(i as u64)).cloned().unwrap_or_default();
            assert_eq!(&g, e, "article {i}");
        }
        assert!(expected.iter().any(|e| e.status == DedupStatus::Exact));
    }

    #[test]
    fn verdicts_read_back_carry_the_same_bits() {
        // 55/56 and 53/56 read back one unit in the last place off without
        // serde_json's float_roundtrip parsing.
        let mut input = String::new();
        for (seq, j) in [
            (0u64, 55.0 / 56.0),
            (1, 53.0 / 56.0),
            (2, 0.9840887306586333),
        ] {
            let dedup = DedupInfo {
                status: DedupStatus::Near,
                duplicate_of: Some("a".into()),
                similarity: Some(j),
                containment: Some(j),
                relation: None,
            };
            input.push_str(
                &serde_json::to_string(&Verdict {
                    part: 0,
                    seq,
                    dedup,
                })
                .unwrap(),
            );
            input.push('\n');
        }
        let back = read_verdicts(&mut input.as_bytes()).unwrap();
        for (seq, j) in [
            (0u64, 55.0f64 / 56.0),
            (1, 53.0 / 56.0),
            (2, 0.9840887306586333),
        ] {
            let got = back[&seq].similarity.unwrap();
            assert_eq!(got.to_bits(), j.to_bits(), "{got} != {j}");
        }
    }

    #[test]
    fn verdicts_of_two_parts_are_refused() {
        let v = |part: u64| {
            serde_json::to_string(&Verdict {
                part,
                seq: 1,
                dedup: DedupInfo::default(),
            })
            .unwrap()
        };
        let input = format!("{}\n{}\n", v(0), v(1));
        assert!(read_verdicts(&mut input.as_bytes()).is_err());
    }
}
