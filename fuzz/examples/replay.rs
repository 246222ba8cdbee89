//! Run one target's check on files, without AFL++, printing what each
//! breaks: `cargo run --example replay -- TARGET FILE...` (a crash that
//! afl-fuzz saved, say).
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprintln!("usage: replay TARGET FILE...");
        std::process::exit(2);
    };
    let Some((_, check)) = newspipe_fuzz::TARGETS.iter().find(|(n, _)| *n == name) else {
        eprintln!("no target {name}");
        std::process::exit(2);
    };
    let mut failed = 0;
    for file in args {
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{file}: {e}");
                failed += 1;
                continue;
            }
        };
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            eprintln!("{file}: fails {name} (message above)");
            failed += 1;
        }
    }
    std::process::exit(i32::from(failed > 0));
}
