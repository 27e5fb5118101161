//! First registration (REG-07) on both engines: the draft, its documents typed by content,
//! the submission, the agency's decision with the RPPS number assigned and e-mailed, and
//! the person in the registry once the propagation delay has passed (by the clock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::ManualClock;
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_registry::queries;
use caducee_registry::registration::{
    self, Coordinate, Decision, DocumentKind, FcIdentity, RegistrationError, RegistrationForm,
    RegistrationState,
};
use caducee_store::testkit::TestDb;
use caducee_store::Dialect;
use time::macros::datetime;

const DELAY: i64 = 172_800;

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-11-23 10:00 UTC))
}

async fn fresh(dialect: Dialect) -> TestDb {
    let db = TestDb::new(dialect).await;
    db.store
        .migrate(&caducee_registry::migrations())
        .await
        .unwrap();
    db.store.migrate(caducee_notify::MIGRATIONS).await.unwrap();
    db
}

fn identity(sub: &str) -> FcIdentity {
    FcIdentity {
        issuer: "https://fc.example.test".into(),
        sub: sub.into(),
        given_name: "Amélie Jeanne".into(),
        family_name: "Lefèvre-Dubois".into(),
        birthdate: "1990-04-12".into(),
        gender: "female".into(),
        birthplace: "69123".into(),
        birthcountry: "99100".into(),
        email: "amelie@fc.example.test".into(),
    }
}

fn form(postcode: &str) -> RegistrationForm {
    RegistrationForm {
        profession_code: "60".into(),
        mode_code: "L".into(),
        structure_name: "Cabinet infirmier des Pentes".into(),
        street: "12 rue des Capucins".into(),
        postcode: postcode.into(),
        city: "Lyon".into(),
        email: "Amelie.Lefevre@example.test".into(),
        mobile: "06 12 34 56 78".into(),
    }
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
];
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];

/// A draft filled in, coordinates confirmed, the three documents given, submitted.
async fn submitted(db: &TestDb, c: &ManualClock, sub: &str, postcode: &str) -> String {
    let reg = registration::open(&db.store, c, &identity(sub))
        .await
        .unwrap();
    let reg = registration::save_form(&db.store, c, &reg.id, &form(postcode))
        .await
        .unwrap();
    registration::confirm(&db.store, c, &reg.id, Coordinate::Email, &reg.form.email)
        .await
        .unwrap();
    registration::confirm(&db.store, c, &reg.id, Coordinate::Mobile, &reg.form.mobile)
        .await
        .unwrap();
    registration::add_document(
        &db.store,
        c,
        &reg.id,
        DocumentKind::Identity,
        "cni.pdf",
        PNG,
    )
    .await
    .unwrap();
    registration::add_document(
        &db.store,
        c,
        &reg.id,
        DocumentKind::Diploma,
        "diplome.pdf",
        PDF,
    )
    .await
    .unwrap();
    registration::add_document(
        &db.store,
        c,
        &reg.id,
        DocumentKind::Activity,
        "contrat.jpg",
        JPEG,
    )
    .await
    .unwrap();
    registration::submit(&db.store, c, &reg.id).await.unwrap();
    reg.id
}

caducee_store::on_both_engines! {
    reg_07_a_registration_is_submitted_approved_its_number_emailed_then_in_the_registry_after_the_delay => approved_then_applied;
    reg_07_two_approvals_assign_two_valid_distinct_numbers_of_the_range => two_numbers;
    reg_07_documents_are_typed_by_content_and_bounded => documents;
    reg_07_the_draft_is_kept_and_resumed_one_open_per_subject => draft_resumes;
    reg_07_a_rejection_needs_a_reason_and_is_emailed => rejection;
    reg_07_the_queue_shows_an_agent_their_departments_only => queue_by_department;
    reg_07_drafts_abandoned_for_30_days_are_forgotten_by_the_clock => abandoned_drafts;
}

/// A draft with a document, left 30 days (by the clock), is forgotten with its document and
/// audited; one saved since, and a submitted registration of the same age, are kept; the
/// subject starts afresh at the next FranceConnect login.
async fn abandoned_drafts(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let old = registration::open(&db.store, &c, &identity("fc-abandon"))
        .await
        .unwrap();
    registration::save_form(&db.store, &c, &old.id, &form("69001"))
        .await
        .unwrap();
    registration::add_document(
        &db.store,
        &c,
        &old.id,
        DocumentKind::Identity,
        "cni.pdf",
        PNG,
    )
    .await
    .unwrap();
    let sent = submitted(&db, &c, "fc-sent", "69002").await;
    let kept = registration::open(&db.store, &c, &identity("fc-kept"))
        .await
        .unwrap();
    // 29 days later: nothing is old enough; the kept draft is saved again.
    c.advance(time::Duration::days(29));
    assert_eq!(
        registration::purge_abandoned(&db.store, &c).await.unwrap(),
        0
    );
    registration::save_form(&db.store, &c, &kept.id, &form("69003"))
        .await
        .unwrap();
    // 30 days and a second after the last save: the abandoned draft only.
    c.advance(time::Duration::days(1) + time::Duration::seconds(1));
    assert_eq!(
        registration::purge_abandoned(&db.store, &c).await.unwrap(),
        1
    );
    assert!(registration::get(&db.store, &old.id)
        .await
        .unwrap()
        .is_none());
    let documents = db
        .store
        .count(&format!(
            "SELECT COUNT(*) FROM reg_registration_document WHERE registration_id = '{}'",
            old.id
        ))
        .await
        .unwrap();
    assert_eq!(documents, 0, "its documents are gone too");
    assert_eq!(
        registration::get(&db.store, &sent)
            .await
            .unwrap()
            .unwrap()
            .state,
        RegistrationState::Submitted
    );
    assert!(registration::get(&db.store, &kept.id)
        .await
        .unwrap()
        .is_some());
    let audited = db
        .store
        .count("SELECT COUNT(*) FROM audit_event WHERE action = 'registry.registration.abandoned'")
        .await
        .unwrap();
    assert_eq!(audited, 1);
    // Again: nothing more.
    assert_eq!(
        registration::purge_abandoned(&db.store, &c).await.unwrap(),
        0
    );
    // The subject's next FranceConnect login opens a new, empty draft.
    let fresh_draft = registration::open(&db.store, &c, &identity("fc-abandon"))
        .await
        .unwrap();
    assert_ne!(fresh_draft.id, old.id);
    assert_eq!(fresh_draft.form.city, "");
    db.cleanup().await;
}

async fn approved_then_applied(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let id = submitted(&db, &c, "fc-sub-1", "69001").await;
    let reg = registration::get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(reg.state, RegistrationState::Submitted);
    assert_eq!(reg.department, "69");
    assert_eq!(reg.form.email, "Amelie.Lefevre@example.test");
    assert_eq!(reg.form.mobile, "+33612345678");
    assert!(reg.missing().is_empty());

    c.advance(time::Duration::hours(2));
    let decided =
        registration::decide(&db.store, &c, &id, "ars:agent-69", Decision::Approve, DELAY)
            .await
            .unwrap();
    assert_eq!(decided.state, RegistrationState::Approved);
    let number = decided.rpps.clone().unwrap();
    let rpps = Rpps::parse(&number).expect("a valid RPPS");
    assert!(
        number.starts_with('2'),
        "{number}: the range of assignments"
    );
    let mail = caducee_notify::get(&db.store, &decided.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.recipient, "Amelie.Lefevre@example.test");
    // A message of its own naming the number, not the generic "request decided".
    assert_eq!(mail.template, "rpps_number_assigned");
    assert!(
        mail.subject
            .ends_with("votre numéro RPPS vous a été attribué"),
        "{}",
        mail.subject
    );
    assert!(mail.body_text.contains("Votre numéro RPPS est :"));
    assert!(mail.body_text.contains(&number), "{}", mail.body_text);
    assert!(
        mail.body_text
            .contains("validée par votre agence régionale de santé"),
        "{}",
        mail.body_text
    );
    assert!(mail
        .body_text
        .contains("Un délai de 48 heures est nécessaire"));
    assert!(mail.body_html.contains(&number));
    // Deciding again is refused: the decision was taken once.
    let again =
        registration::decide(&db.store, &c, &id, "ars:other", Decision::Approve, DELAY).await;
    assert!(matches!(
        again,
        Err(RegistrationError::WrongState(RegistrationState::Approved))
    ));

    // Not before the delay, by the clock.
    let idnat = IdNatPs::parse(rpps.idnat()).unwrap();
    c.advance(time::Duration::seconds(DELAY - 1));
    assert_eq!(
        registration::apply_due(&db.store, &c, DELAY).await.unwrap(),
        0
    );
    assert!(!queries::person_exists(&db.store, &idnat).await.unwrap());
    c.advance(time::Duration::seconds(1));
    assert_eq!(
        registration::apply_due(&db.store, &c, DELAY).await.unwrap(),
        1
    );
    assert_eq!(
        registration::apply_due(&db.store, &c, DELAY).await.unwrap(),
        0,
        "applied once"
    );
    let p = queries::get_professional(&db.store, &idnat)
        .await
        .unwrap()
        .expect("in the registry");
    assert_eq!(p.last_name, "LEFÈVRE-DUBOIS");
    assert_eq!(p.first_name, "Amélie");
    let civil = p.civil_identity.unwrap();
    assert_eq!(civil.birth_date, "1990-04-12");
    assert_eq!(civil.birth_place, "69123");
    assert_eq!(civil.first_names, "Amélie Jeanne");
    assert_eq!(civil.sex, "F");
    let contact = p.contact.unwrap();
    assert_eq!(contact.email, "Amelie.Lefevre@example.test");
    assert_eq!(contact.mobile, "+33612345678");
    assert_eq!(p.activities.len(), 1);
    assert_eq!(p.activities[0].profession.code, "60");
    assert_eq!(
        p.activities[0].structure.as_ref().unwrap().postcode,
        "69001"
    );
    // In the directory's search index.
    let indexed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reg_search_person WHERE idnat = $1 AND family = 'lefevredubois'",
    )
    .bind(rpps.idnat())
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(indexed, 1);
    let reg = registration::get(&db.store, &id).await.unwrap().unwrap();
    assert_eq!(reg.state, RegistrationState::Applied);
    db.cleanup().await;
}

async fn two_numbers(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    // A person already holding the range's first number (an operator's import) is skipped.
    let first = Rpps::from_payload("2000000000").unwrap();
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, updated_at) VALUES ($1, '8', $2, 0)",
    )
    .bind(first.idnat())
    .bind(first.as_str())
    .execute(db.store.pool())
    .await
    .unwrap();
    let a = submitted(&db, &c, "fc-a", "75014").await;
    let b = submitted(&db, &c, "fc-b", "75015").await;
    let na = registration::decide(&db.store, &c, &a, "ars:x", Decision::Approve, DELAY)
        .await
        .unwrap()
        .rpps
        .unwrap();
    let nb = registration::decide(&db.store, &c, &b, "ars:x", Decision::Approve, DELAY)
        .await
        .unwrap()
        .rpps
        .unwrap();
    assert_ne!(na, nb);
    assert_ne!(
        na,
        first.as_str(),
        "a number of the registry is never given"
    );
    for n in [&na, &nb] {
        assert!(Rpps::parse(n).is_ok(), "{n}: Luhn");
        assert!(n.starts_with('2'));
    }
    let assigned: i64 = db
        .store
        .count("SELECT COUNT(*) FROM reg_rpps_assigned")
        .await
        .unwrap();
    assert_eq!(assigned, 2);
    // The table refuses a number given twice.
    let dup = sqlx::query(
        "INSERT INTO reg_rpps_assigned (rpps, registration_id, assigned_at) VALUES ($1, 'x', 0)",
    )
    .bind(&na)
    .execute(db.store.pool())
    .await;
    assert!(dup.is_err());
    db.cleanup().await;
}

async fn documents(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let reg = registration::open(&db.store, &c, &identity("fc-docs"))
        .await
        .unwrap();
    // A PNG named .pdf is a PNG.
    let d = registration::add_document(
        &db.store,
        &c,
        &reg.id,
        DocumentKind::Identity,
        "C:\\scans\\piece.pdf",
        PNG,
    )
    .await
    .unwrap();
    assert_eq!(d.content_type, "image/png");
    assert_eq!(d.filename, "piece.pdf");
    let (ty, bytes) = registration::document(&db.store, &reg.id, &d.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ty.as_str(), bytes.as_slice()), ("image/png", PNG));
    // An executable is refused, whatever its name.
    let exe = registration::add_document(
        &db.store,
        &c,
        &reg.id,
        DocumentKind::Diploma,
        "diplome.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
    )
    .await;
    match exe {
        Err(RegistrationError::Document(m)) => assert!(m.contains("PDF, JPEG ou PNG"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Too big is refused.
    let mut big = PDF.to_vec();
    big.resize(registration::DOCUMENT_MAX_BYTES + 1, b' ');
    let too_big =
        registration::add_document(&db.store, &c, &reg.id, DocumentKind::Diploma, "d.pdf", &big)
            .await;
    assert!(matches!(too_big, Err(RegistrationError::Document(m)) if m.contains("10 Mo")));
    // A second identity document replaces the first.
    registration::add_document(
        &db.store,
        &c,
        &reg.id,
        DocumentKind::Identity,
        "cni.pdf",
        PDF,
    )
    .await
    .unwrap();
    let reg = registration::get(&db.store, &reg.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reg.documents.len(), 1);
    assert_eq!(reg.documents[0].content_type, "application/pdf");
    assert!(registration::document(&db.store, &reg.id, &d.id)
        .await
        .unwrap()
        .is_none());
    db.cleanup().await;
}

async fn draft_resumes(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let reg = registration::open(&db.store, &c, &identity("fc-resume"))
        .await
        .unwrap();
    registration::save_form(&db.store, &c, &reg.id, &form("13001"))
        .await
        .unwrap();
    registration::confirm(
        &db.store,
        &c,
        &reg.id,
        Coordinate::Email,
        "Amelie.Lefevre@example.test",
    )
    .await
    .unwrap();
    // Incomplete: not submitted, and says what is missing.
    match registration::submit(&db.store, &c, &reg.id).await {
        Err(RegistrationError::Incomplete(m)) => {
            assert!(m.contains("mobile"), "{m}");
            assert!(m.contains("pièce d'identité"), "{m}");
            assert!(!m.contains("e-mail"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    // A new FranceConnect login (a new node, after a restart: the store is all) resumes it.
    let again = registration::open(&db.store, &c, &identity("fc-resume"))
        .await
        .unwrap();
    assert_eq!(again.id, reg.id);
    assert_eq!(again.form.city, "Lyon");
    assert_eq!(again.department, "13");
    assert!(again.email_verified);
    // Another e-mail must be confirmed again.
    let mut f = form("13001");
    f.email = "autre@example.test".into();
    let changed = registration::save_form(&db.store, &c, &reg.id, &f)
        .await
        .unwrap();
    assert!(!changed.email_verified);
    // A code for the old value confirms nothing.
    assert!(registration::confirm(
        &db.store,
        &c,
        &reg.id,
        Coordinate::Email,
        "Amelie.Lefevre@example.test"
    )
    .await
    .is_err());
    // Bad input says what to do.
    let mut bad = form("7501");
    bad.profession_code = "999".into();
    let err = registration::save_form(&db.store, &c, &reg.id, &bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("profession"), "{err}");
    // One open registration per subject, even inserted by hand on another node.
    let dup = sqlx::query(
        "INSERT INTO reg_registration (id, fc_issuer, fc_sub, state, given_name, family_name,
            birth_date, gender, birth_place, birth_country, created_at, updated_at)
         VALUES ('other', 'https://fc.example.test', 'fc-resume', 'draft', '', '', '', '', '', '', 0, 0)",
    )
    .execute(db.store.pool())
    .await;
    assert!(dup.is_err(), "the unique partial index");
    db.cleanup().await;
}

async fn rejection(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let id = submitted(&db, &c, "fc-rej", "20167").await;
    let empty = registration::decide(
        &db.store,
        &c,
        &id,
        "ars:a",
        Decision::Reject {
            reason: "   ".into(),
        },
        DELAY,
    )
    .await;
    assert!(matches!(empty, Err(RegistrationError::BadInput(_))));
    let decided = registration::decide(
        &db.store,
        &c,
        &id,
        "ars:a",
        Decision::Reject {
            reason: "Le diplôme fourni est illisible".into(),
        },
        DELAY,
    )
    .await
    .unwrap();
    assert_eq!(decided.state, RegistrationState::Rejected);
    assert!(decided.rpps.is_none());
    let mail = caducee_notify::get(&db.store, &decided.message_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        mail.body_text.contains("Le diplôme fourni est illisible"),
        "{}",
        mail.body_text
    );
    // The person may start again: a new draft for the same subject.
    let next = registration::open(&db.store, &c, &identity("fc-rej"))
        .await
        .unwrap();
    assert_ne!(next.id, id);
    assert_eq!(next.state, RegistrationState::Draft);
    let audited: i64 = db
        .store
        .count("SELECT COUNT(*) FROM audit_event WHERE action = 'registry.registration.rejected'")
        .await
        .unwrap();
    assert_eq!(audited, 1);
    db.cleanup().await;
}

async fn queue_by_department(dialect: Dialect) {
    let c = clock();
    let db = fresh(dialect).await;
    let corse = submitted(&db, &c, "fc-1", "20167").await;
    c.advance(time::Duration::minutes(1));
    let paris = submitted(&db, &c, "fc-2", "75014").await;
    c.advance(time::Duration::minutes(1));
    let guadeloupe = submitted(&db, &c, "fc-3", "97110").await;
    let q = |d: &[&str]| {
        let d: Vec<String> = d.iter().map(|s| s.to_string()).collect();
        let store = db.store.clone();
        async move {
            registration::queue(&store, &d)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(q(&["2A"]).await, vec![corse]);
    assert_eq!(q(&["2B"]).await, Vec::<String>::new());
    assert_eq!(q(&["971", "75"]).await, [paris.clone(), guadeloupe.clone()]);
    assert!(q(&[]).await.is_empty());
    let line = &registration::queue(&db.store, &["75".to_string()])
        .await
        .unwrap()[0];
    assert_eq!(line.name, "LEFÈVRE-DUBOIS Amélie Jeanne");
    assert_eq!(line.profession_label, "Infirmier");
    db.cleanup().await;
}
