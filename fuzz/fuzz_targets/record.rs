//! AFL++ target: [`newspipe_fuzz::record`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::record(data));
}
