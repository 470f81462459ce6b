//! Progress of long work (a folder upscaled, a set evaluated, a training run), on stderr: on a
//! terminal a bar with its rate and time left (indicatif); otherwise, in the log of a batch
//! job, a plain line every `PLAIN_EVERY` seconds and one at the end, never carriage returns.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Seconds between plain lines when stderr is not a terminal.
const PLAIN_EVERY: f64 = 30.0;

pub struct Progress {
    bar: Option<ProgressBar>,
    what: &'static str,
    unit: &'static str,
    total: u64,
    first: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
    message: String,
}

impl Progress {
    /// `what` names the work ("upscale"), `unit` what is counted ("images", "steps");
    /// `first` is where a resumed count starts.
    pub fn new(what: &'static str, unit: &'static str, first: u64, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = format!(
                "{what} [{{bar:30}}] {{pos}}/{{len}} {unit} | {{per_sec}} | eta {{eta}} {{msg}}"
            );
            bar.set_style(
                ProgressStyle::with_template(&style)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_position(first);
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Progress {
            bar,
            what,
            unit,
            total,
            first,
            done: first,
            started: Instant::now(),
            last_line: Instant::now(),
            message: String::new(),
        }
    }

    /// One more unit done; `message` (losses, a file name) is shown beside the count.
    pub fn advance(&mut self, message: String) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(message);
                bar.inc(1);
            }
            None => {
                self.message = message;
                if self.last_line.elapsed().as_secs_f64() >= PLAIN_EVERY {
                    self.plain_line();
                }
            }
        }
    }

    /// Work beside the count (a discriminator's warm-up within a run): `message` is shown
    /// and no unit is counted.
    pub fn note(&mut self, message: String) {
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => {
                self.message = message;
                if self.last_line.elapsed().as_secs_f64() >= PLAIN_EVERY {
                    self.plain_line();
                }
            }
        }
    }

    /// The rate and time left from now on, leaving out the time of work beside the count.
    pub fn restart_rate(&mut self) {
        match &self.bar {
            Some(bar) => bar.reset_eta(),
            None => (self.first, self.started) = (self.done, Instant::now()),
        }
    }

    /// A line that must not be overwritten (a validation score, a warning).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(mut self) {
        match self.bar.take() {
            Some(bar) => bar.finish(),
            None => self.plain_line(),
        }
    }

    fn plain_line(&mut self) {
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "{} {}/{} {} | {:.2} {}/s | {:.0} s | {}",
            self.what,
            self.done,
            self.total,
            self.unit,
            (self.done - self.first) as f64 / secs.max(1e-9),
            self.unit,
            secs,
            self.message
        );
        self.last_line = Instant::now();
    }
}
