//! Import progress on the terminal: a bar with rows/s when stderr is a terminal, plain
//! periodic lines otherwise (logs of a cron job or CI stay readable).

use caducee_registry::format::FileKind;
use caducee_registry::import::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn for_terminal() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar {
            bar: Mutex::new(None),
            started: Mutex::new(Instant::now()),
        })
    } else {
        Box::new(Lines {
            state: Mutex::new(LinesState {
                started: Instant::now(),
                last: None,
                total: 0,
                name: String::new(),
            }),
        })
    }
}

struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    started: Mutex<Instant>,
}

impl Progress for Bar {
    fn begin(&self, file: &str, kind: FileKind, total_bytes: u64) {
        let bar = ProgressBar::new(total_bytes);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30.cyan/blue}] {percent:>3}% {msg} (reste {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{kind} ({})", short(file)));
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut s) = self.started.lock() {
            *s = Instant::now();
        }
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }
    fn update(&self, bytes: u64, lines: u64) {
        let elapsed = self
            .started
            .lock()
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.set_position(bytes);
                bar.set_message(format!(
                    "{lines} lignes, {:.0} lignes/s",
                    lines as f64 / elapsed.max(0.001)
                ));
            }
        }
    }
    fn end(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

struct LinesState {
    started: Instant,
    last: Option<Instant>,
    total: u64,
    name: String,
}

struct Lines {
    state: Mutex<LinesState>,
}

impl Progress for Lines {
    fn begin(&self, file: &str, kind: FileKind, total_bytes: u64) {
        if let Ok(mut s) = self.state.lock() {
            *s = LinesState {
                started: Instant::now(),
                last: Some(Instant::now()),
                total: total_bytes,
                name: format!("{kind} ({})", short(file)),
            };
            eprintln!("import {} : début ({} Mo)", s.name, total_bytes / 1_000_000);
        }
    }
    fn update(&self, bytes: u64, lines: u64) {
        if let Ok(mut s) = self.state.lock() {
            if s.last.is_some_and(|l| l.elapsed() < Duration::from_secs(5)) {
                return;
            }
            s.last = Some(Instant::now());
            let pct = (bytes * 100).checked_div(s.total).unwrap_or(0);
            let rate = lines as f64 / s.started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "import {} : {pct}% — {lines} lignes, {rate:.0} lignes/s",
                s.name
            );
        }
    }
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
