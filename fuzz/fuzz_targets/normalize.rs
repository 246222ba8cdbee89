//! AFL++ target: [`newspipe_fuzz::normalize`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::normalize(data));
}
