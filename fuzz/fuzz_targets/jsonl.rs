//! AFL++ target: [`newspipe_fuzz::jsonl`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::jsonl(data));
}
