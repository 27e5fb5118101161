//! The notify component against real servers: an SMTP server (Python aiosmtpd, started by
//! the test as a child process, writing every accepted message as a .eml file) and an HTTP
//! SMS gateway (axum on an ephemeral port). Every scenario runs on SQLite and PostgreSQL;
//! time moves with a ManualClock, never by sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use caducee_core::clock::{Clock, ManualClock};
use caducee_core::contact::{Email, Mobile};
use caducee_notify::{
    counts, enqueue, enqueue_now, get, recent, Decision, DevTransport, Locale, NotifyError,
    OutgoingMessage, SmsGateway, SmtpTransport, Status, Template, Transport, TransportConfig,
    Transports, Unconfigured, Worker, SCRUBBED_BODY,
};
use caducee_store::testkit::TestDb;
use caducee_store::{Dialect, Store};
use time::macros::datetime;

// ------------------------------------------------------------------ real SMTP server

/// This package's folder, read when the test runs (cargo and nextest set it): the value
/// compiled in names the checkout that built the binary, which a build cache shared by
/// several checkouts (CI clones) may have deleted since.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// `python3 tests/smtp_sink.py PORT DIR …`, killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        SmtpSink::start_on(free_port(), &[]).await
    }

    async fn start_on(port: u16, extra: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let script = manifest_dir().join("tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts (the SMTP server of the tests needs python3 and aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the test SMTP server exited ({status}): is aiosmtpd installed? \
                     (python3 -m pip install aiosmtpd; scripts/test does it)"
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the test SMTP server does not listen on {port}"
            );
            // Waiting for a child process to listen, not for an expiry.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        SmtpSink { child, port, dir }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received, in arrival order.
    fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ------------------------------------------------------------------ real HTTP gateway

/// An SMS gateway on an ephemeral port: records the JSON bodies it accepts; answers 503
/// while `failing` is set.
struct Gateway {
    url: String,
    accepted: Arc<Mutex<Vec<serde_json::Value>>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct GatewayState {
    accepted: Arc<Mutex<Vec<serde_json::Value>>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

async fn gateway_handler(
    axum::extract::State(s): axum::extract::State<GatewayState>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> axum::http::StatusCode {
    s.hits.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    s.accepted.lock().unwrap().push(body);
    axum::http::StatusCode::ACCEPTED
}

impl Gateway {
    async fn start() -> Gateway {
        let state = GatewayState {
            accepted: Arc::default(),
            hits: Arc::default(),
            failing: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/api/sms", axum::routing::post(gateway_handler))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Gateway {
            url: format!("http://gw:s3cret@127.0.0.1:{port}/api/sms"),
            accepted: state.accepted,
            hits: state.hits,
            failing: state.failing,
            task,
        }
    }

    fn accepted(&self) -> Vec<serde_json::Value> {
        self.accepted.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ------------------------------------------------------------------ helpers

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-03-02 09:00 UTC))
}

async fn db(dialect: Dialect) -> TestDb {
    let db = TestDb::new(dialect).await;
    db.store.migrate(caducee_notify::MIGRATIONS).await.unwrap();
    db
}

fn julie() -> Email {
    Email::parse("julie.martin@example.test").unwrap()
}

fn julie_mobile() -> Mobile {
    Mobile::parse("06 12 34 56 01").unwrap()
}

fn activation_code(code: &str) -> Template {
    Template::EcpsActivationCode {
        code: code.into(),
        validity_minutes: 10,
    }
}

fn email_only(sink: &SmtpSink) -> Arc<Transports> {
    Arc::new(Transports::new(
        Arc::new(SmtpTransport::from_url(&sink.url()).unwrap()),
        Arc::new(Unconfigured),
    ))
}

fn sms_only(gw: &Gateway) -> Arc<Transports> {
    Arc::new(Transports::new(
        Arc::new(Unconfigured),
        Arc::new(SmsGateway::new(&gw.url).unwrap()),
    ))
}

fn worker(store: &Store, clock: &ManualClock, transport: Arc<dyn Transport>) -> Worker {
    Worker::new(store.clone(), clock.shared(), transport)
}

fn header(mail: &mailparse::ParsedMail<'_>, name: &str) -> String {
    use mailparse::MailHeaderMap;
    mail.headers
        .get_first_value(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
}

fn metrics_handle() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("first recorder of this test process");
        handle
    })
}

fn counter_value(name: &str, channel: &str) -> f64 {
    let text = metrics_handle().render();
    let prefix = format!("{name}{{channel=\"{channel}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

/// Runs a scenario once per database engine, as `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_both_databases {
    ($name:ident) => {
        on_both_databases!($name, tokio::test);
    };
    ($name:ident, multi_thread) => {
        on_both_databases!($name, tokio::test(flavor = "multi_thread", worker_threads = 4));
    };
    ($name:ident, $($test:tt)+) => {
        mod $name {
            #[$($test)+]
            async fn sqlite() {
                super::$name(caducee_store::Dialect::Sqlite).await;
            }
            #[$($test)+]
            async fn postgres() {
                super::$name(caducee_store::Dialect::Postgres).await;
            }
        }
    };
}

// ------------------------------------------------------------------ scenarios

/// An e-mail reaches the SMTP server as multipart/alternative (text + HTML) with the right
/// subject and the Message-ID stored at enqueue; once sent, the code leaves the database.
async fn not_01_email_delivered_with_text_html_and_stored_message_id(dialect: Dialect) {
    let db = db(dialect).await;
    let sink = SmtpSink::start().await;
    let clock = clock();
    let msg = OutgoingMessage::email(julie(), activation_code("482913"))
        .public_url("https://sante.example.fr/");
    let id = enqueue_now(&db.store, &clock, &msg).await.unwrap();
    let stored = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(stored.message_id, format!("<{id}@sante.example.fr>"));
    assert_eq!(stored.status, Status::Pending);

    let report = worker(&db.store, &clock, email_only(&sink))
        .run_once()
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (1, 0, 0));

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let mail = mailparse::parse_mail(&received[0]).unwrap();
    assert_eq!(header(&mail, "Subject"), "Votre code d'activation e-CPS");
    assert_eq!(header(&mail, "Message-ID"), stored.message_id);
    assert_eq!(header(&mail, "To"), "julie.martin@example.test");
    assert!(header(&mail, "From").contains("no-reply@localhost"));
    assert_eq!(
        header(&mail, "Date"),
        "Mon, 02 Mar 2026 09:00:00 +0000",
        "the Date is the enqueue time of the injected clock"
    );
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    assert_eq!(mail.subparts.len(), 2);
    assert_eq!(mail.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(mail.subparts[1].ctype.mimetype, "text/html");
    let text = mail.subparts[0].get_body().unwrap();
    let html = mail.subparts[1].get_body().unwrap();
    assert!(
        text.contains("482913") && text.contains("valable 10 minutes"),
        "{text}"
    );
    assert!(
        html.contains("482913") && html.contains("<html lang=\"fr\">"),
        "{html}"
    );
    assert!(text.contains("Ne le communiquez à personne"), "{text}");

    let sent = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(sent.status, Status::Sent);
    assert_eq!(sent.sent_at, Some(clock.unix()));
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.body_text, SCRUBBED_BODY);
    assert_eq!(sent.body_html, SCRUBBED_BODY);
    assert_eq!(sent.claimed_by, None);
    db.cleanup().await;
}
on_both_databases!(not_01_email_delivered_with_text_html_and_stored_message_id);

/// Messages queued within the same second (the clock does not move) leave in the order they
/// were queued: a person who asks for a code again receives the new one last, so "the last
/// code received" is the valid one.
async fn not_01_messages_of_one_second_leave_in_queue_order(dialect: Dialect) {
    let db = db(dialect).await;
    let sink = SmtpSink::start().await;
    let clock = clock();
    let codes: Vec<String> = (0..12).map(|i| format!("{:06}", 100_000 + i)).collect();
    for code in &codes {
        let msg = OutgoingMessage::email(julie(), activation_code(code));
        enqueue_now(&db.store, &clock, &msg).await.unwrap();
    }
    let report = worker(&db.store, &clock, email_only(&sink))
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.sent, codes.len());
    let received: Vec<String> = sink
        .messages()
        .iter()
        .map(|raw| {
            let mail = mailparse::parse_mail(raw).unwrap();
            let text = mail.subparts[0].get_body().unwrap();
            codes
                .iter()
                .find(|c| text.contains(c.as_str()))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(received, codes, "arrival order is queue order");
    db.cleanup().await;
}
on_both_databases!(not_01_messages_of_one_second_leave_in_queue_order);

/// A message asked in English (`OutgoingMessage::locale`) is rendered in English when it is
/// queued, and reaches the SMTP server so: English subject and text, `<html lang="en">`.
async fn not_01_email_in_english_is_delivered_in_english(dialect: Dialect) {
    let db = db(dialect).await;
    let sink = SmtpSink::start().await;
    let clock = clock();
    let template = Template::AccountCreationCode {
        portal: "Mon espace – Ordre des médecins".into(),
        code: "482913".into(),
        validity_minutes: 10,
    };
    let msg = OutgoingMessage::email(julie(), template.clone()).locale(Locale::En);
    assert_eq!(msg.locale, Locale::En);
    assert_eq!(
        OutgoingMessage::email(julie(), template.clone()).locale,
        Locale::Fr,
        "French by default"
    );
    let id = enqueue_now(&db.store, &clock, &msg).await.unwrap();
    let stored = get(&db.store, &id).await.unwrap().unwrap();
    let (subject, text, html) = template.render_email_in(Locale::En);
    assert_eq!(
        (&stored.subject, &stored.body_text, &stored.body_html),
        (&subject, &text, &html)
    );

    let report = worker(&db.store, &clock, email_only(&sink))
        .run_once()
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (1, 0, 0));
    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let mail = mailparse::parse_mail(&received[0]).unwrap();
    assert_eq!(
        header(&mail, "Subject"),
        "Mon espace – Ordre des médecins: your account creation code"
    );
    let text = mail.subparts[0].get_body().unwrap();
    let html = mail.subparts[1].get_body().unwrap();
    assert!(text.starts_with("Hello,"), "{text}");
    assert!(
        text.contains("Here is the code to complete the creation of your Mon espace – Ordre des médecins account:")
            && text.contains("482913")
            && text.contains("This code is valid for 10 minutes. Do not share it with anyone"),
        "{text}"
    );
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("482913"),
        "{html}"
    );
    db.cleanup().await;
}
on_both_databases!(not_01_email_in_english_is_delivered_in_english);

/// An SMS reaches the gateway as JSON `{to, text}` with the E.164 number.
async fn not_02_sms_delivered_as_json_to_the_gateway(dialect: Dialect) {
    let db = db(dialect).await;
    let gw = Gateway::start().await;
    let clock = clock();
    let template = Template::PhoneVerificationCode {
        portal: "RPLUS Santé".into(),
        code: "582046".into(),
        validity_minutes: 10,
    };
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), template.clone()),
    )
    .await
    .unwrap();
    let report = worker(&db.store, &clock, sms_only(&gw))
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(
        gw.accepted(),
        vec![serde_json::json!({"to": "+33612345601", "text": template.render_sms()})]
    );
    let sent = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(sent.status, Status::Sent);
    assert_eq!(sent.body_text, SCRUBBED_BODY);
    assert_eq!(sent.body_html, "", "an SMS has no HTML part");
    db.cleanup().await;
}
on_both_databases!(not_02_sms_delivered_as_json_to_the_gateway);

/// The SMTP server is down: attempts are retried after 1 s, 2 s… (the clock moves); once
/// the server listens on that port, the message goes out, once.
async fn not_03_smtp_down_retried_with_backoff_then_delivered_once(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let port = free_port();
    let transport = Arc::new(Transports::new(
        Arc::new(SmtpTransport::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap()),
        Arc::new(Unconfigured),
    ));
    let w = worker(&db.store, &clock, transport);
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("111222")),
    )
    .await
    .unwrap();
    let t0 = clock.unix();

    let r = w.run_once().await.unwrap();
    assert_eq!((r.sent, r.retried), (0, 1));
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(
        (m.status, m.attempts, m.next_attempt_at),
        (Status::Pending, 1, t0 + 1)
    );
    assert!(m.last_error.contains("SMTP"), "{}", m.last_error);
    assert_eq!(m.claimed_by, None);
    assert!(w.run_once().await.unwrap().is_empty(), "not due before 1 s");

    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!((m.attempts, m.next_attempt_at), (2, t0 + 1 + 2));
    clock.advance(time::Duration::seconds(2));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!((m.attempts, m.next_attempt_at), (3, t0 + 3 + 4));

    let sink = SmtpSink::start_on(port, &[]).await;
    clock.advance(time::Duration::seconds(3));
    assert!(w.run_once().await.unwrap().is_empty(), "still waiting 4 s");
    assert!(sink.messages().is_empty());
    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    clock.advance(time::Duration::seconds(120));
    assert!(w.run_once().await.unwrap().is_empty());
    assert_eq!(sink.messages().len(), 1, "delivered once");
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (Status::Sent, 4));
    db.cleanup().await;
}
on_both_databases!(not_03_smtp_down_retried_with_backoff_then_delivered_once);

/// A server answering `451` (temporary) is retried like a server down.
async fn not_03_smtp_temporary_refusal_is_retried(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start_on(free_port(), &["--fail-first", "2"]).await;
    let w = worker(&db.store, &clock, email_only(&sink));
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("333444")),
    )
    .await
    .unwrap();
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert!(m.last_error.contains("451"), "{}", m.last_error);
    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    clock.advance(time::Duration::seconds(2));
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    assert_eq!(sink.messages().len(), 1);
    db.cleanup().await;
}
on_both_databases!(not_03_smtp_temporary_refusal_is_retried);

/// The gateway answers 503: retried with backoff; once it answers 2xx, the SMS goes out.
async fn not_04_sms_gateway_503_retried_then_delivered(dialect: Dialect) {
    let db = db(dialect).await;
    let gw = Gateway::start().await;
    gw.failing.store(true, Ordering::SeqCst);
    let clock = clock();
    let w = worker(&db.store, &clock, sms_only(&gw));
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), activation_code("765432")),
    )
    .await
    .unwrap();
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert!(m.last_error.contains("503"), "{}", m.last_error);
    assert!(
        !m.last_error.contains("s3cret"),
        "the gateway password stays out of errors"
    );
    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    assert_eq!(gw.hits.load(Ordering::SeqCst), 2);

    gw.failing.store(false, Ordering::SeqCst);
    clock.advance(time::Duration::seconds(2));
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    clock.advance(time::Duration::seconds(120));
    assert!(w.run_once().await.unwrap().is_empty());
    assert_eq!(gw.accepted().len(), 1);
    assert_eq!(gw.hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        get(&db.store, &id).await.unwrap().unwrap().status,
        Status::Sent
    );
    db.cleanup().await;
}
on_both_databases!(not_04_sms_gateway_503_retried_then_delivered);

/// After the last attempt the message is `failed`, shown in the counts and counted in
/// `caducee_notify_failed_total`; it is never tried again, and its code is scrubbed.
async fn not_05_max_attempts_marks_failed_and_counts(dialect: Dialect) {
    metrics_handle();
    let failed_before = counter_value("caducee_notify_failed_total", "email");
    let retries_before = counter_value("caducee_notify_retries_total", "email");
    let db = db(dialect).await;
    let clock = clock();
    let transport = Arc::new(Transports::new(
        Arc::new(SmtpTransport::from_url(&format!("smtp://127.0.0.1:{}", free_port())).unwrap()),
        Arc::new(Unconfigured),
    ));
    let w = worker(&db.store, &clock, transport).with_max_attempts(3);
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("909090")),
    )
    .await
    .unwrap();
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    clock.advance(time::Duration::seconds(2));
    let r = w.run_once().await.unwrap();
    assert_eq!((r.retried, r.failed), (0, 1));

    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (Status::Failed, 3));
    assert!(m.last_error.contains("SMTP"), "{}", m.last_error);
    assert!(!m.body_text.contains("909090") && !m.body_html.contains("909090"));
    let c = counts(&db.store).await.unwrap();
    assert_eq!((c.pending, c.failed, c.sent), (0, 1, 0));
    assert!(counter_value("caducee_notify_failed_total", "email") >= failed_before + 1.0);
    assert!(counter_value("caducee_notify_retries_total", "email") >= retries_before + 2.0);
    caducee_notify::register_metrics();
    assert_eq!(caducee_notify::record_gauges(&db.store).await.unwrap(), c);
    let rendered = metrics_handle().render();
    assert!(
        rendered.contains("caducee_notify_outbox_messages{status=\"failed\"}"),
        "{rendered}"
    );
    assert!(
        rendered.contains("caducee_notify_failed_total{channel=\"sms\"} "),
        "{rendered}"
    );

    clock.advance(time::Duration::hours(1));
    assert!(
        w.run_once().await.unwrap().is_empty(),
        "a failed message stays failed"
    );
    db.cleanup().await;
}
on_both_databases!(not_05_max_attempts_marks_failed_and_counts);

/// A server refusing for good (5xx) fails the message at once; credentials from the URL or
/// from a secret file are accepted by a server that requires AUTH; the sender is settable.
async fn not_05_smtp_credentials_and_permanent_refusal(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start_on(free_port(), &["--auth", "caducee:p@ss w0rd"]).await;
    let host = format!("127.0.0.1:{}", sink.port);
    let no_auth = SmtpTransport::from_url(&format!("smtp://{host}")).unwrap();
    let url_auth =
        SmtpTransport::from_url(&format!("smtp://caducee:p%40ss%20w0rd@{host}")).unwrap();
    let file_auth = SmtpTransport::new(
        &format!("smtp://caducee@{host}"),
        Some("p@ss w0rd\n"),
        Some("ARS Île-de-France <ne-pas-repondre@ars.example.test>"),
    )
    .unwrap();

    for (n, smtp) in [no_auth, url_auth, file_auth].into_iter().enumerate() {
        let transport = Arc::new(Transports::new(Arc::new(smtp), Arc::new(Unconfigured)));
        let id = enqueue_now(
            &db.store,
            &clock,
            &OutgoingMessage::email(julie(), activation_code("123123")),
        )
        .await
        .unwrap();
        let r = worker(&db.store, &clock, transport)
            .run_once()
            .await
            .unwrap();
        let m = get(&db.store, &id).await.unwrap().unwrap();
        if n == 0 {
            assert_eq!((r.failed, m.status, m.attempts), (1, Status::Failed, 1));
            assert!(m.last_error.contains("530"), "{}", m.last_error);
        } else {
            assert_eq!((r.sent, m.status), (1, Status::Sent), "{}", m.last_error);
        }
    }
    let received = sink.messages();
    assert_eq!(received.len(), 2);
    let last = mailparse::parse_mail(&received[1]).unwrap();
    assert_eq!(
        header(&last, "From"),
        "ARS Île-de-France <ne-pas-repondre@ars.example.test>"
    );
    db.cleanup().await;
}
on_both_databases!(not_05_smtp_credentials_and_permanent_refusal);

/// A code whose validity has passed is not sent late: `expired`, nothing reaches the
/// server, the code is scrubbed.
async fn not_06_expired_code_is_not_sent_late(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let gw = Gateway::start().await;
    let transport = Arc::new(Transports::new(
        Arc::new(SmtpTransport::from_url(&sink.url()).unwrap()),
        Arc::new(SmsGateway::new(&gw.url).unwrap()),
    ));
    let valid_until = clock.unix() + 600;
    let email = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("246810")).not_after(valid_until),
    )
    .await
    .unwrap();
    let sms = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), activation_code("135791")).not_after(valid_until),
    )
    .await
    .unwrap();
    clock.advance(time::Duration::seconds(600));
    let r = worker(&db.store, &clock, transport)
        .run_once()
        .await
        .unwrap();
    assert_eq!((r.sent, r.expired), (0, 2));
    assert!(sink.messages().is_empty());
    assert!(gw.accepted().is_empty() && gw.hits.load(Ordering::SeqCst) == 0);
    for id in [email, sms] {
        let m = get(&db.store, &id).await.unwrap().unwrap();
        assert_eq!(m.status, Status::Expired);
        assert_eq!(m.body_text, SCRUBBED_BODY);
    }
    assert_eq!(counts(&db.store).await.unwrap().expired, 2);
    db.cleanup().await;
}
on_both_databases!(not_06_expired_code_is_not_sent_late);

/// NFR-01: a message written by a process that was then killed (before delivery, or after
/// claiming it) is delivered by a new process on the same database — a new Store and a new
/// Worker — the claim of the dead one expiring after 60 s.
async fn nfr_01_queued_message_survives_restart(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;

    // The first process: the flow commits two messages in its own transaction (with the
    // change that causes them), and the worker claims one, then the process dies.
    let (queued, claimed) = {
        let mut tx = db.store.pool().begin().await.unwrap();
        let a = enqueue(
            &mut tx,
            &clock,
            &OutgoingMessage::email(julie(), activation_code("100001")),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let dead = worker(&db.store, &clock, email_only(&sink)).with_node_id("dead-node");
        assert_eq!(dead.claim().await.unwrap().len(), 1);
        let b = enqueue_now(
            &db.store,
            &clock,
            &OutgoingMessage::email(julie(), activation_code("100002")),
        )
        .await
        .unwrap();
        (b, a)
    };
    // A rolled-back transaction leaves no message.
    {
        let mut tx = db.store.pool().begin().await.unwrap();
        enqueue(
            &mut tx,
            &clock,
            &OutgoingMessage::email(julie(), activation_code("100003")),
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
    }
    db.store.close().await;

    let store = Store::connect(&db.url).await.unwrap();
    store.migrate(caducee_notify::MIGRATIONS).await.unwrap();
    let w = worker(&store, &clock, email_only(&sink)).with_node_id("new-node");
    assert_eq!(
        w.run_once().await.unwrap().sent,
        1,
        "the unclaimed one at once"
    );
    assert_eq!(
        get(&store, &queued).await.unwrap().unwrap().status,
        Status::Sent
    );
    assert_eq!(
        get(&store, &claimed).await.unwrap().unwrap().status,
        Status::Pending
    );
    clock.advance(time::Duration::seconds(59));
    assert!(w.run_once().await.unwrap().is_empty(), "claim still held");
    clock.advance(time::Duration::seconds(2));
    assert_eq!(w.run_once().await.unwrap().sent, 1, "the claim expired");
    assert_eq!(sink.messages().len(), 2);
    let c = counts(&store).await.unwrap();
    assert_eq!((c.sent, c.pending), (2, 0));
    store.close().await;
    db.cleanup().await;
}
on_both_databases!(nfr_01_queued_message_survives_restart);

/// Two nodes (two pools, two workers) deliver 20 messages concurrently: each message
/// reaches the SMTP server exactly once.
async fn not_07_two_workers_never_deliver_twice(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let mut ids = BTreeSet::new();
    for i in 0..20 {
        let msg = OutgoingMessage::email(julie(), activation_code(&format!("{:06}", 500_000 + i)));
        ids.insert(enqueue_now(&db.store, &clock, &msg).await.unwrap());
    }
    let other_store = Store::connect(&db.url).await.unwrap();
    let a = Arc::new(
        worker(&db.store, &clock, email_only(&sink))
            .with_node_id("node-a")
            .with_batch_size(2),
    );
    let b = Arc::new(
        worker(&other_store, &clock, email_only(&sink))
            .with_node_id("node-b")
            .with_batch_size(2),
    );
    let run = |w: Arc<Worker>| {
        tokio::spawn(async move {
            let mut sent = 0;
            let mut idle_rounds = 0;
            while idle_rounds < 2 {
                let r = w.run_once().await.unwrap();
                assert_eq!((r.retried, r.failed), (0, 0));
                sent += r.sent;
                idle_rounds = if r.sent == 0 { idle_rounds + 1 } else { 0 };
            }
            sent
        })
    };
    let (sent_a, sent_b) = tokio::join!(run(a), run(b));
    let (sent_a, sent_b) = (sent_a.unwrap(), sent_b.unwrap());
    assert_eq!(sent_a + sent_b, 20, "a: {sent_a}, b: {sent_b}");

    let received = sink.messages();
    assert_eq!(received.len(), 20);
    let message_ids: BTreeSet<String> = received
        .iter()
        .map(|raw| header(&mailparse::parse_mail(raw).unwrap(), "Message-ID"))
        .collect();
    let expected: BTreeSet<String> = ids.iter().map(|id| format!("<{id}@caducee>")).collect();
    assert_eq!(message_ids, expected);
    assert_eq!(counts(&db.store).await.unwrap().sent, 20);

    // The claim itself under contention: 8 claimers on the two pools race for 100
    // messages, 5 at a time; no message is claimed twice.
    for i in 0..100 {
        let msg = OutgoingMessage::email(julie(), activation_code(&format!("{:06}", 600_000 + i)));
        enqueue_now(&db.store, &clock, &msg).await.unwrap();
    }
    let claimers = (0..8).map(|n| {
        let store = if n % 2 == 0 {
            db.store.clone()
        } else {
            other_store.clone()
        };
        let w = worker(&store, &clock, Arc::new(DevTransport))
            .with_node_id(format!("claimer-{n}"))
            .with_batch_size(5);
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = w.claim().await.unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        })
    });
    let mut all = Vec::new();
    for claimer in futures_util::future::join_all(claimers).await {
        all.extend(claimer.unwrap());
    }
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (100, 100));
    other_store.close().await;
    db.cleanup().await;
}
on_both_databases!(not_07_two_workers_never_deliver_twice, multi_thread);

/// The documented guarantee: a node that dies right after the server's `250` (before it
/// records the message as sent) leaves it claimed; once the claim expires the message is
/// sent again with the SAME Message-ID — at-least-once, recognisable.
async fn not_08_crash_after_250_resends_the_same_message_id(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let transport = email_only(&sink);
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("777888"))
            .public_url("https://caducee.example.fr"),
    )
    .await
    .unwrap();

    let crashing = worker(&db.store, &clock, transport.clone()).with_node_id("crashing");
    let claimed = crashing.claim().await.unwrap();
    assert_eq!(claimed.len(), 1);
    transport.send_email(&claimed[0]).await.unwrap(); // 250, then the process dies.
    drop(crashing);

    let w = worker(&db.store, &clock, transport).with_node_id("survivor");
    assert!(
        w.run_once().await.unwrap().is_empty(),
        "the claim holds 60 s"
    );
    clock.advance(time::Duration::seconds(61));
    assert_eq!(w.run_once().await.unwrap().sent, 1);

    let received = sink.messages();
    assert_eq!(received.len(), 2, "at-least-once: sent twice");
    let first = mailparse::parse_mail(&received[0]).unwrap();
    let second = mailparse::parse_mail(&received[1]).unwrap();
    let expected = format!("<{id}@caducee.example.fr>");
    assert_eq!(header(&first, "Message-ID"), expected);
    assert_eq!(header(&second, "Message-ID"), expected);
    assert_eq!(header(&first, "Date"), header(&second, "Date"));
    let m = get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (Status::Sent, 2));
    db.cleanup().await;
}
on_both_databases!(not_08_crash_after_250_resends_the_same_message_id);

/// A writer into a shared buffer, for capturing the logs of a test.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// NFR-02: codes and links never reach the logs, at any level, through enqueue, retries,
/// deliveries and failures; logs name the message by id and masked recipient.
async fn nfr_02_code_never_in_logs(dialect: Dialect) {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    // Current-thread runtime: every task of this test runs on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let gw = Gateway::start().await;
    gw.failing.store(true, Ordering::SeqCst);
    let transport = Arc::new(Transports::new(
        Arc::new(SmtpTransport::from_url(&sink.url()).unwrap()),
        Arc::new(SmsGateway::new(&gw.url).unwrap()),
    ));
    let link = "https://caducee.example.fr/espaces/ordre/mdp/Zx9QvT4kLm2Pw8RyHn3Bc6Df";
    let email = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("739184")),
    )
    .await
    .unwrap();
    enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(
            julie(),
            Template::PasswordReset {
                portal: "Mon espace".into(),
                link: link.into(),
                validity_hours: 24,
            },
        ),
    )
    .await
    .unwrap();
    enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), activation_code("582046")),
    )
    .await
    .unwrap();
    let w = worker(&db.store, &clock, transport).with_max_attempts(2);
    let r = w.run_once().await.unwrap();
    assert_eq!((r.sent, r.retried), (2, 1));
    clock.advance(time::Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().failed, 1);
    tracing::info!(?r, "end of scenario");
    for m in recent(&db.store, 10).await.unwrap() {
        tracing::info!(stored = ?m, "stored message");
    }

    let captured = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(captured.contains(&email), "the logs name the message id");
    assert!(
        captured.contains("ju***in@example.test"),
        "masked recipient"
    );
    assert!(captured.contains("+3361***01"), "masked mobile");
    for secret in ["739184", "582046", link, "Zx9QvT4kLm2Pw8RyHn3Bc6Df"] {
        assert!(
            !captured.contains(secret),
            "{secret} found in the logs:\n{captured}"
        );
    }
    assert!(!captured.contains("julie.martin@example.test"));
    assert!(!captured.contains("+33612345601"));
    assert!(!captured.contains("s3cret"));
    db.cleanup().await;
}
on_both_databases!(nfr_02_code_never_in_logs);

/// Every SMS template, with long-ish values, is accepted as one GSM 7-bit SMS; a text that
/// cannot fit is refused at enqueue with a French message, not split at the gateway.
async fn not_09_sms_templates_fit_one_gsm7_sms(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let portal = "Mon espace – Conseil national de l’Ordre des médecins (Île-de-France)";
    let code = |c: &str| c.to_string();
    let templates = vec![
        activation_code("98765432"),
        Template::EcpsExpiryReminder { expires_on: "28/02/2029".into(), days_left: 30 },
        Template::AccountCreationCode { portal: portal.into(), code: code("123456"), validity_minutes: 10 },
        Template::AccountRecoveryCode { portal: portal.into(), code: code("123456"), validity_minutes: 10 },
        Template::AccountCreated {
            portal: portal.into(),
            login: "jean-christophe.de-la-fontaine-saint-hilaire@cabinet-medical-des-trois-rivieres.example.fr".into(),
            login_url: "https://caducee.example.fr/espaces/ordre".into(),
        },
        Template::AccountEmailChanged {
            portal: portal.into(),
            new_email_masked: "je***re@cabinet-medical-des-trois-rivieres-et-des-deux-vallees.example.fr".into(),
            changed_at: "01/12/2026 à 14:05".into(),
        },
        Template::PasswordReset {
            portal: portal.into(),
            link: "https://caducee.example.fr/espaces/ordre/mdp/6QmU3pY0c1x9Wd8nZr2aK5tB4vHs7eLg0oJiFpQ".into(),
            validity_hours: 24,
        },
        Template::EmailVerificationCode { portal: portal.into(), code: code("654321"), validity_minutes: 10 },
        Template::PhoneVerificationCode { portal: portal.into(), code: code("654321"), validity_minutes: 10 },
        Template::RequestDecided {
            portal: portal.into(),
            request: "Mise à jour de mes coordonnées de correspondance et de mon adresse d’exercice".into(),
            decision: Decision::Approved { delay_secs: 172_800 },
            link: None,
        },
        Template::RequestDecided {
            portal: portal.into(),
            request: "Déclaration d’une nouvelle activité".into(),
            decision: Decision::Rejected {
                reason: "Le justificatif fourni (attestation d’inscription au tableau de l’Ordre) est illisible ; merci de joindre une copie complète et signée.".into(),
            },
            link: None,
        },
        Template::RppsNumberAssigned { portal: portal.into(), rpps: "20000000008".into(), delay_secs: 172_800 },
    ];
    let names: BTreeSet<&str> = templates.iter().map(|t| t.name()).collect();
    assert_eq!(names.len(), caducee_notify::templates::TEMPLATE_NAMES.len());
    // French (the default: no `.locale`) and English, each through `enqueue`.
    for locale in Locale::ALL {
        for t in &templates {
            let text = t.render_sms_in(locale);
            let septets = caducee_notify::gsm7::septets(&text)
                .unwrap_or_else(|| panic!("{} ({locale:?}): not GSM 7-bit: {text}", t.name()));
            assert!(
                septets <= 160,
                "{} ({locale:?}): {septets} septets: {text}",
                t.name()
            );
            for c in ['ê', 'ç', 'ô', 'â', 'î', '’', '«', '»', '–', '“', '”'] {
                assert!(
                    !text.contains(c),
                    "{} ({locale:?}): {c} in {text}",
                    t.name()
                );
            }
            let msg = OutgoingMessage::sms(julie_mobile(), t.clone());
            let msg = match locale {
                Locale::Fr => {
                    assert_eq!(text, t.render_sms());
                    msg
                }
                Locale::En => msg.locale(Locale::En),
            };
            let id = enqueue_now(&db.store, &clock, &msg).await.unwrap();
            assert_eq!(get(&db.store, &id).await.unwrap().unwrap().body_text, text);
        }
    }
    let too_long = Template::PasswordReset {
        portal: "x".into(),
        link: format!("https://caducee.example.fr/{}", "a".repeat(150)),
        validity_hours: 24,
    };
    let e = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), too_long),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, NotifyError::SmsTooLong { .. }));
    assert!(e.to_string().contains("ne tient pas en un seul SMS"), "{e}");
    db.cleanup().await;
}
on_both_databases!(not_09_sms_templates_fit_one_gsm7_sms);

/// Demo mode without servers: messages count as sent and keep their bodies, newest first,
/// for `/dev/outbox`.
async fn not_10_demo_mode_keeps_bodies_for_the_dev_page(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let transports = Transports::from_config(&TransportConfig {
        demo: true,
        ..TransportConfig::default()
    })
    .unwrap();
    assert!(transports.describe().contains("démo"));
    let w = worker(&db.store, &clock, Arc::new(transports)).keep_bodies(true);
    enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("314159")),
    )
    .await
    .unwrap();
    clock.advance(time::Duration::seconds(1));
    enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::sms(julie_mobile(), activation_code("271828")),
    )
    .await
    .unwrap();
    assert_eq!(w.run_once().await.unwrap().sent, 2);
    let listed = recent(&db.store, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].recipient, "+33612345601", "newest first");
    assert!(listed[0].body_text.contains("271828"));
    assert!(listed[1].body_text.contains("314159"));
    assert!(listed[1].body_html.contains("314159"));
    assert!(listed.iter().all(|m| m.status == Status::Sent));
    assert!(
        !format!("{listed:?}").contains("314159"),
        "Debug leaves bodies out"
    );

    // Even without keep_bodies, a simulated send keeps the body (there is nowhere else to
    // read the code in demo mode).
    let w = worker(&db.store, &clock, Arc::new(DevTransport));
    let id = enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("161803")),
    )
    .await
    .unwrap();
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    assert!(get(&db.store, &id)
        .await
        .unwrap()
        .unwrap()
        .body_text
        .contains("161803"));
    db.cleanup().await;
}
on_both_databases!(not_10_demo_mode_keeps_bodies_for_the_dev_page);

/// The production loop: a wake after an enqueue starts a round at once; the shutdown
/// future stops the loop.
async fn not_11_run_loop_delivers_when_woken_and_stops_on_shutdown(dialect: Dialect) {
    let db = db(dialect).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let w = worker(&db.store, &clock, email_only(&sink));
    let waker = w.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(w.run(async {
        let _ = stopped.await;
    }));
    enqueue_now(
        &db.store,
        &clock,
        &OutgoingMessage::email(julie(), activation_code("424242")),
    )
    .await
    .unwrap();
    waker.wake();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.messages().is_empty() {
        assert!(Instant::now() < deadline, "the loop did not deliver");
        // Waiting for the background task to deliver, not for an expiry.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(counts(&db.store).await.unwrap().sent, 1);
    db.cleanup().await;
}
on_both_databases!(
    not_11_run_loop_delivers_when_woken_and_stops_on_shutdown,
    multi_thread
);
