//! Reading CoNLL-2003 files: one token per line (`token POS chunk NER`),
//! blank lines between sentences, `-DOCSTART-` lines between documents,
//! IOB1 entity tags. Tags are converted to the tagger's BIO ids.

use std::ops::Range;
use std::path::Path;

use super::model::{begin, inside, tag_label};
use crate::error::Error;
use crate::record::Label;

/// One document: its tokens, sentence ranges, and gold BIO tags.
#[derive(Debug, Default, Clone)]
pub(crate) struct Doc {
    pub words: Vec<String>,
    pub sentences: Vec<Range<usize>>,
    pub gold: Vec<u8>,
}

impl Doc {
    pub(crate) fn word_refs(&self) -> Vec<&str> {
        self.words.iter().map(String::as_str).collect()
    }
}

fn parse_label(s: &str) -> Option<Label> {
    match s {
        "PER" => Some(Label::Per),
        "ORG" => Some(Label::Org),
        "LOC" => Some(Label::Loc),
        "MISC" => Some(Label::Misc),
        _ => None,
    }
}

/// Read a CoNLL file from disk.
pub(crate) fn read(path: &Path) -> Result<Vec<Doc>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        op: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|m| Error::Model(format!("{}: {m}", path.display())))
}

/// Parse CoNLL text. Accepts IOB1 or IOB2 tags in the last column.
pub(crate) fn parse(text: &str) -> Result<Vec<Doc>, String> {
    let mut docs = Vec::new();
    let mut doc = Doc::default();
    let mut sent_start = 0;
    let close_sentence = |doc: &mut Doc, sent_start: &mut usize| {
        if doc.words.len() > *sent_start {
            doc.sentences.push(*sent_start..doc.words.len());
        }
        *sent_start = doc.words.len();
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            close_sentence(&mut doc, &mut sent_start);
            continue;
        }
        let mut cols = line.split_whitespace();
        let word = cols.next().unwrap_or_default();
        if word == "-DOCSTART-" {
            close_sentence(&mut doc, &mut sent_start);
            if !doc.words.is_empty() {
                docs.push(std::mem::take(&mut doc));
                sent_start = 0;
            }
            continue;
        }
        let tag = cols
            .next_back()
            .ok_or_else(|| format!("line {}: no tag column", n + 1))?;
        let gold = if tag == "O" {
            0
        } else {
            let (prefix, name) = tag
                .split_once('-')
                .ok_or_else(|| format!("line {}: bad tag {tag:?}", n + 1))?;
            let label = parse_label(name)
                .ok_or_else(|| format!("line {}: unknown label {name:?}", n + 1))?;
            // IOB1: "I-X" opens an entity unless the previous token is also X;
            // "B-X" only separates two adjacent X entities.
            let prev = if doc.words.len() > sent_start {
                doc.gold.last().copied().and_then(tag_label)
            } else {
                None
            };
            match prefix {
                "I" if prev == Some(label) => inside(label),
                "I" | "B" => begin(label),
                _ => return Err(format!("line {}: bad tag {tag:?}", n + 1)),
            }
        };
        doc.words.push(word.to_owned());
        doc.gold.push(gold);
    }
    close_sentence(&mut doc, &mut sent_start);
    if !doc.words.is_empty() {
        docs.push(doc);
    }
    Ok(docs)
}

/// Entity chunks `(token range, label)` of a BIO tag sequence, within sentences.
pub(crate) fn chunks(tags: &[u8], sentences: &[Range<usize>]) -> Vec<(Range<usize>, Label)> {
    let mut out: Vec<(Range<usize>, Label)> = Vec::new();
    for r in sentences {
        let mut open: Option<(usize, Label)> = None;
        for i in r.clone() {
            let label = tag_label(tags[i]);
            let continues = tags[i] >= 5 && matches!(open, Some((_, l)) if Some(l) == label);
            if continues {
                continue;
            }
            if let Some((s, l)) = open.take() {
                out.push((s..i, l));
            }
            if let Some(l) = label {
                open = Some((i, l));
            }
        }
        if let Some((s, l)) = open {
            out.push((s..r.end, l));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\
        German JJ I-NP I-MISC\n. . O O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\
        Smith NNP I-NP B-PER\n\n-DOCSTART- -X- O O\n\nBonn NNP I-NP I-LOC\n";

    #[test]
    fn converts_iob1_to_bio_and_splits_documents() {
        let docs = parse(SAMPLE).unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        assert_eq!(d.sentences, vec![0..4, 4..7]);
        assert_eq!(
            d.gold,
            vec![
                begin(Label::Org),
                0,
                begin(Label::Misc),
                0,
                begin(Label::Per),
                inside(Label::Per),
                begin(Label::Per)
            ]
        );
        assert_eq!(docs[1].gold, vec![begin(Label::Loc)]);
    }

    #[test]
    fn chunks_follow_bio_and_sentence_edges() {
        let docs = parse(SAMPLE).unwrap();
        let c = chunks(&docs[0].gold, &docs[0].sentences);
        assert_eq!(
            c,
            vec![
                (0..1, Label::Org),
                (2..3, Label::Misc),
                (4..6, Label::Per),
                (6..7, Label::Per)
            ]
        );
    }

    #[test]
    fn rejects_unknown_labels() {
        assert!(parse("Foo NNP I-NP I-XYZ\n").is_err());
    }
}
