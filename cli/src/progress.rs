//! Progress bars on stderr, only when stderr is a terminal and `--quiet` is off.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub(crate) struct FrameProgress {
    bar: Option<ProgressBar>,
}

impl FrameProgress {
    pub(crate) fn new(verb: &'static str, quiet: bool) -> FrameProgress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_message(verb);
            bar
        });
        FrameProgress { bar }
    }

    /// Updates with frames done and the expected total (when the container states it).
    pub(crate) fn update(&mut self, done: u64, total: Option<u64>) {
        let Some(bar) = &self.bar else { return };
        if let Some(total) = total
            && bar.length() != Some(total)
        {
            bar.set_length(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} frames, {per_sec}, eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
        }
        bar.set_position(done);
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
