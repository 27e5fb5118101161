//! The fields of the text log, with control characters escaped (issue 10, item 13).
//!
//! tracing-subscriber's text format writes field values as they are given: a request value
//! holding CR/LF could forge whole log lines, and an ESC could drive the terminal of whoever
//! reads the log. Every field (message included) is written here with its control
//! characters as visible escapes (`\n`, `\r`, `\t`, `\u{1b}`), so one event stays one line
//! whatever a client sent. The JSON format escapes them already.

use std::fmt::Write as _;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::FormatFields;

/// The text log's field formatter: `name=value` pairs separated by spaces, values escaped.
pub fn escaped_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(
        |writer: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            let mut raw = String::new();
            let _ = write!(raw, "{value:?}");
            let value = escape_controls(&raw);
            if field.name() == "message" {
                write!(writer, "{value}")
            } else {
                write!(writer, "{}={value}", field.name())
            }
        },
    )
    .delimited(" ")
}

/// `s` with every control character written as an escape.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sec_13_request_values_cannot_forge_log_lines() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(escaped_fields())
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let hostile = "openid\r\n2026-12-01T00:00:00Z  INFO faux: connexion admin\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http", path = %hostile);
            let _in = span.enter();
            tracing::warn!(scope = %hostile, debugged = ?hostile, "portée {hostile}");
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "one event, one line: {out:?}");
        assert!(!out.contains('\u{1b}'), "{out:?}");
        assert!(out.contains("scope=openid\\r\\n2026"), "{out:?}");
        assert!(out.contains("\\u{1b}[2J"), "{out:?}");
    }
}
