//! AFL++ target: [`newspipe_fuzz::boilerplate`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::boilerplate(data));
}
