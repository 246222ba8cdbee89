//! AFL++ target: [`newspipe_fuzz::tagger`] on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| newspipe_fuzz::tagger(data));
}
