//! AFL++ target: [`newspipe_fuzz::jsonl`] on each input.
fn main() {
    // Before the fork server starts, so each fuzzing process starts warm.
    newspipe_fuzz::warm_up();
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::jsonl(data));
}
