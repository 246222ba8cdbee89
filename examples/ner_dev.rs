//! Development driver for the tagger until the CLI wires `train-tagger` and
//! `eval-tagger`: `ner_dev train OUT [epochs] [bits] [prune]`, `ner_dev eval MODEL FILE`,
//! `ner_dev tag MODEL FILE`.
use std::path::Path;

use newspipe::ner::{evaluate, train, Tagger, TrainOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conll = Path::new("../shared/data/conll2003");
    match args.first().map(String::as_str) {
        Some("train") => {
            let mut opts = TrainOptions::default();
            if let Some(e) = args.get(2) {
                opts.epochs = e.parse()?;
            }
            if let Some(b) = args.get(3) {
                opts.bits = b.parse()?;
            }
            if let Some(p) = args.get(4) {
                opts.prune = p.parse()?;
            }
            let t0 = std::time::Instant::now();
            let bytes = train(&conll.join("eng.train"), Some(&conll.join("eng.testa")), &opts, |r| {
                let f1 = r.dev.as_ref().map(|d| d.overall_f1()).unwrap_or(0.0);
                eprintln!("epoch {} mistakes {} dev F1 {:.4} ({:.1?})", r.epoch, r.mistakes, f1, t0.elapsed());
            })?;
            std::fs::write(&args[1], &bytes)?;
            eprintln!("wrote {} bytes in {:.1?}", bytes.len(), t0.elapsed());
        }
        Some("eval") => {
            let tagger = Tagger::from_model_bytes(&std::fs::read(&args[1])?)?;
            println!("{}", evaluate(&tagger, Path::new(&args[2]))?);
        }
        Some("tag") => {
            let tagger = Tagger::from_model_bytes(&std::fs::read(&args[1])?)?;
            let text = std::fs::read_to_string(&args[2])?;
            let (t, e) = tagger.tag_article(None, &text);
            for x in t.iter().chain(&e) {
                println!("{}", serde_json::to_string(x)?);
            }
        }
        Some("speed") => {
            let tagger = Tagger::from_model_bytes(&std::fs::read(&args[1])?)?;
            let mut docs = Vec::new();
            for e in std::fs::read_dir(&args[2])? {
                docs.push(std::fs::read_to_string(e?.path())?);
            }
            let mut toks = Vec::new();
            let mut n = 0;
            for d in &docs {
                toks.clear();
                newspipe::ner::tokenize(d, &mut toks);
                n += toks.len();
            }
            let t0 = std::time::Instant::now();
            let reps: usize = std::env::var("REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
            for _ in 0..reps {
                for d in &docs {
                    std::hint::black_box(tagger.tag_article(None, d));
                }
            }
            let s = t0.elapsed().as_secs_f64();
            println!("{} tokens x {reps} in {s:.2}s: {:.0} tokens/s", n, (n * reps) as f64 / s);
        }
        _ => anyhow::bail!("usage: ner_dev train OUT [epochs] [bits] [prune] | eval MODEL FILE | tag MODEL FILE | speed MODEL DIR"),
    }
    Ok(())
}
