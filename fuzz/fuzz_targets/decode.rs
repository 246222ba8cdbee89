//! AFL++ target: [`newspipe_fuzz::decode`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::decode(data));
}
