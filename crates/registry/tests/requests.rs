//! REG-06: change requests, on SQLite and on a real PostgreSQL. Every state transition,
//! the reason a rejection needs, the decision's e-mail in the outbox, the propagation
//! delay by the clock (nothing at 47 h 59, the registry, the directory's index and the
//! userinfo view show the change at 48 h), the bound on open requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use caducee_core::clock::{Clock, ManualClock};
use caducee_registry::requests::{
    self, CeaseActivity, Change, ContactChange, Decision, ExerciseName, NewActivity, NewProfession,
    RequestError, RequestKind, RequestState,
};
use caducee_registry::search::{self, NameField, Page, PersonFilter, TextMatch};
use caducee_registry::{claims_view, queries};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect};
use sqlx::Row;
use time::macros::datetime;
use time::Duration;

const DELAY: i64 = 172_800;

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-11-23 10:00 UTC))
}

/// A registry with the demo personas (and the outbox), and Jérôme Petit's idNat
/// (masseur-kinésithérapeute in Toulouse).
async fn with_petit(dialect: Dialect, c: &ManualClock) -> (TestDb, String) {
    let db = TestDb::new(dialect).await;
    let mut m = caducee_registry::migrations();
    m.extend(caducee_notify::MIGRATIONS.iter().copied());
    db.store.migrate(&m).await.unwrap();
    caducee_registry::demo::seed_personas(&db.store, c)
        .await
        .unwrap();
    search::index_missing(&db.store).await.unwrap();
    let petit = caducee_registry::generate::demo_personas()
        .into_iter()
        .find(|p| p.last_name == "Petit")
        .unwrap();
    (db, petit.idnat)
}

fn new_activity() -> NewActivity {
    NewActivity {
        siret: "73282932000074".into(),
        name: "Cabinet des Brotteaux".into(),
        address: "3 place Jules Ferry".into(),
        postcode: "69006".into(),
        city: "Lyon".into(),
        profession_code: "70".into(),
        mode_code: "L".into(),
        role_code: "FON-01".into(),
        start_date: "2026-12-01".into(),
        ..NewActivity::default()
    }
}

async fn outbox(db: &TestDb) -> Vec<(String, String, String)> {
    sqlx::query("SELECT recipient, subject, body_text FROM notify_outbox ORDER BY id")
        .fetch_all(db.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn submitted(db: &TestDb, c: &ManualClock, idnat: &str, change: Change) -> requests::Request {
    let actor = format!("ps:{idnat}");
    let draft = requests::save_draft(&db.store, c, idnat, &change, &actor)
        .await
        .unwrap();
    requests::submit(&db.store, c, idnat, &draft.id, &actor)
        .await
        .unwrap()
}

async fn reg_06_a_draft_is_kept_as_typed_then_checked_and_queued_in_its_department(
    dialect: Dialect,
) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    let actor = format!("ps:{idnat}");
    // Saved as typed: a wrong SIRET and no city are kept in the draft.
    let mut typed = new_activity();
    typed.siret = "7328 2932 0000 75".into();
    typed.city = String::new();
    let draft = requests::save_draft(
        &db.store,
        &c,
        &idnat,
        &Change::NewActivity(typed.clone()),
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(draft.state, RequestState::Draft);
    // Saving again updates the same draft (one per kind).
    c.advance(Duration::minutes(3));
    let again = requests::save_draft(
        &db.store,
        &c,
        &idnat,
        &Change::NewActivity(typed.clone()),
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(again.id, draft.id);
    let resumed = requests::draft_for(&db.store, &idnat, RequestKind::NewActivity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resumed.change, Change::NewActivity(typed.clone()));
    // Submitting checks: each wrong field says what to do.
    let err = requests::submit(&db.store, &c, &idnat, &draft.id, &actor)
        .await
        .unwrap_err();
    let RequestError::Invalid(fields) = err else {
        panic!("{dialect:?}: {err}")
    };
    let names: Vec<_> = fields.iter().map(|f| f.field).collect();
    assert_eq!(names, ["siret", "city"], "{dialect:?}: {fields:?}");
    assert!(fields[0].message.contains("SIRET"));
    // Someone else cannot submit it.
    let other = caducee_registry::generate::demo_personas()
        .into_iter()
        .find(|p| p.last_name == "Martin")
        .unwrap()
        .idnat;
    assert!(matches!(
        requests::submit(&db.store, &c, &other, &draft.id, "ps:other").await,
        Err(RequestError::NotFound(_))
    ));
    // Corrected and submitted: the structure's department (Lyon) decides who sees it.
    let mut right = new_activity();
    right.siret = "7328 2932 0000 74".into();
    requests::save_draft(&db.store, &c, &idnat, &Change::NewActivity(right), &actor)
        .await
        .unwrap();
    let sent = requests::submit(&db.store, &c, &idnat, &draft.id, &actor)
        .await
        .unwrap();
    assert_eq!(sent.state, RequestState::Submitted);
    assert_eq!(sent.department, "69");
    let Change::NewActivity(a) = &sent.change else {
        panic!()
    };
    assert_eq!(a.siret, "73282932000074", "{dialect:?}: normalised");
    assert!(
        requests::draft_for(&db.store, &idnat, RequestKind::NewActivity)
            .await
            .unwrap()
            .is_none()
    );
    // Twice: refused.
    assert!(matches!(
        requests::submit(&db.store, &c, &idnat, &draft.id, &actor).await,
        Err(RequestError::Transition { .. })
    ));
    let lyon = requests::queue(&db.store, &["69".to_string()])
        .await
        .unwrap();
    assert_eq!(lyon.len(), 1);
    assert_eq!(lyon[0].id, draft.id);
    assert_eq!(lyon[0].person_name, "Petit Jérôme");
    assert_eq!(lyon[0].kind, RequestKind::NewActivity);
    assert!(requests::queue(&db.store, &["31".to_string()])
        .await
        .unwrap()
        .is_empty());
    // A contact change goes to the department of the first active activity (Toulouse).
    let contact = submitted(
        &db,
        &c,
        &idnat,
        Change::Contact(ContactChange {
            email: "jerome.petit@nouveau.example".into(),
            mobile: "06 12 34 56 99".into(),
            address: "27 boulevard de Strasbourg, 31000 Toulouse".into(),
        }),
    )
    .await;
    assert_eq!(contact.department, "31");
    let Change::Contact(cc) = &contact.change else {
        panic!()
    };
    assert_eq!(cc.mobile, "+33612345699");
    let full = requests::get(&db.store, &contact.id)
        .await
        .unwrap()
        .unwrap();
    let events: Vec<_> = full.events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        events,
        [
            (None, RequestState::Draft),
            (Some(RequestState::Draft), RequestState::Submitted)
        ]
    );
    assert_eq!(full.events[1].actor, actor);
    // Field by field, with the registry's current value.
    assert_eq!(full.fields[0].label, "Adresse e-mail");
    assert_eq!(full.fields[0].before, "jerome.petit@example.test");
    assert_eq!(full.fields[0].after, "jerome.petit@nouveau.example");
    // The audit names the request, never the typed texts.
    let audit: Vec<String> =
        sqlx::query("SELECT details FROM audit_event WHERE action = 'registry.request.state'")
            .fetch_all(db.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(audit.len(), 4, "{dialect:?}: {audit:?}");
    assert!(audit.iter().all(|d| !d.contains("nouveau.example")));
    let history = requests::history_for(&db.store, &idnat).await.unwrap();
    assert_eq!(history.len(), 2);
    db.cleanup().await;
}

async fn reg_06_a_rejection_needs_a_reason_and_is_emailed(dialect: Dialect) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    let req = submitted(
        &db,
        &c,
        &idnat,
        Change::ExerciseName(ExerciseName {
            last_name: "Petit-Martin".into(),
            first_name: "Jérôme".into(),
        }),
    )
    .await;
    for empty in ["", "   "] {
        assert!(matches!(
            requests::decide(
                &db.store,
                &c,
                &req.id,
                "agent:alice",
                Decision::Reject {
                    reason: empty.into()
                },
                DELAY
            )
            .await,
            Err(RequestError::ReasonRequired)
        ));
    }
    assert!(outbox(&db).await.is_empty());
    let rejected = requests::decide(
        &db.store,
        &c,
        &req.id,
        "agent:alice",
        Decision::Reject {
            reason: "Joindre l'acte de mariage.".into(),
        },
        DELAY,
    )
    .await
    .unwrap();
    assert_eq!(rejected.state, RequestState::Rejected);
    assert_eq!(rejected.reason, "Joindre l'acte de mariage.");
    // Decided once: a second decision is refused.
    assert!(matches!(
        requests::decide(
            &db.store,
            &c,
            &req.id,
            "agent:bob",
            Decision::Approve,
            DELAY
        )
        .await,
        Err(RequestError::Transition {
            from: RequestState::Rejected,
            ..
        })
    ));
    let mail = outbox(&db).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "jerome.petit@example.test");
    assert!(mail[0].1.contains("refusée"), "{:?}", mail[0]);
    assert!(mail[0].2.contains("Joindre l'acte de mariage."));
    assert!(mail[0].2.contains("modification de votre nom d'exercice"));
    // A rejected change never reaches the registry.
    c.advance(Duration::days(3));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 0);
    let p = queries::get_professional(&db.store, &queries::parse_id(&idnat).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.last_name, "Petit");
    let full = requests::get(&db.store, &req.id).await.unwrap().unwrap();
    assert_eq!(
        full.events.last().unwrap().note,
        "Joindre l'acte de mariage."
    );
    assert_eq!(full.events.last().unwrap().actor, "agent:alice");
    db.cleanup().await;
}

async fn name_hits(db: &TestDb, name: &str) -> Vec<search::Hit> {
    search::search_persons(
        &db.store,
        &[PersonFilter::Name {
            field: NameField::Family,
            mode: TextMatch::Contains,
            any_of: vec![name.to_string()],
        }],
        Page {
            after: None,
            max_key: None,
            limit: 10,
        },
    )
    .await
    .unwrap()
}

async fn reg_06_an_approved_change_waits_for_the_delay_then_shows_everywhere(dialect: Dialect) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    let name = submitted(
        &db,
        &c,
        &idnat,
        Change::ExerciseName(ExerciseName {
            last_name: "Petitjean".into(),
            first_name: "Jérôme".into(),
        }),
    )
    .await;
    let activity = submitted(&db, &c, &idnat, Change::NewActivity(new_activity())).await;
    let approved_at = c.unix();
    for id in [&name.id, &activity.id] {
        let r = requests::decide(&db.store, &c, id, "agent:alice", Decision::Approve, DELAY)
            .await
            .unwrap();
        assert_eq!(r.state, RequestState::Approved);
        assert_eq!(r.effective_at(DELAY), Some(approved_at + DELAY));
    }
    assert_eq!(outbox(&db).await.len(), 2, "{dialect:?}: one e-mail each");
    assert!(outbox(&db).await[0].1.contains("acceptée"));
    // The e-mail tells the delay the node is configured with.
    assert!(outbox(&db).await[0]
        .2
        .contains("Un délai de 48 heures peut être nécessaire"));
    let before = search::person_last_updated(&db.store, std::slice::from_ref(&idnat))
        .await
        .unwrap()[&idnat];
    // 47 h 59: nothing changed anywhere.
    c.advance(Duration::seconds(DELAY - 60));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 0);
    let claims = claims_view::person_with_active_activities(&db.store, &idnat)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims.person.last_name, "Petit");
    assert_eq!(claims.activities.len(), 1);
    assert!(name_hits(&db, "petitjean").await.is_empty());
    // 48 h: the registry, the directory's index and the userinfo view show the change.
    c.advance(Duration::seconds(60));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 2);
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 0);
    let claims = claims_view::person_with_active_activities(&db.store, &idnat)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims.person.last_name, "Petitjean");
    assert_eq!(claims.activities.len(), 2, "{dialect:?}: {claims:?}");
    let lyon = claims
        .activities
        .iter()
        .find(|a| a.structure.postcode == "69006")
        .unwrap();
    assert_eq!(lyon.structure.siret, "73282932000074");
    assert_eq!(lyon.mode_code, "L");
    assert_eq!(lyon.profession_code, "70");
    let hits = name_hits(&db, "petitjean").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, idnat);
    assert_eq!(hits[0].last_updated, c.unix());
    assert!(hits[0].last_updated > before);
    let p = queries::get_professional(&db.store, &queries::parse_id(&idnat).unwrap())
        .await
        .unwrap()
        .unwrap();
    let structure = p
        .activities
        .iter()
        .filter_map(|a| a.structure.as_ref())
        .find(|s| s.postcode == "69006")
        .unwrap();
    assert_eq!(structure.name, "Cabinet des Brotteaux");
    assert_eq!(structure.city, "Lyon");
    // The new structure is in the structures' index too (the directory's Organization).
    let indexed: i64 =
        sqlx::query("SELECT COUNT(*) FROM reg_search_structure WHERE siret = '73282932000074'")
            .fetch_one(db.store.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(indexed, 1);
    for id in [&name.id, &activity.id] {
        let r = requests::get(&db.store, id).await.unwrap().unwrap();
        assert_eq!(r.state, RequestState::Applied);
        assert_eq!(r.applied_at, Some(c.unix()));
        assert_eq!(r.events.last().unwrap().from, Some(RequestState::Approved));
    }
    db.cleanup().await;
}

async fn reg_06_cease_new_profession_and_contact_apply_after_the_delay(dialect: Dialect) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    let current = claims_view::person_with_active_activities(&db.store, &idnat)
        .await
        .unwrap()
        .unwrap()
        .activities[0]
        .id
        .clone();
    // Not one of mine: refused at submission.
    let actor = format!("ps:{idnat}");
    let bad = requests::save_draft(
        &db.store,
        &c,
        &idnat,
        &Change::CeaseActivity(CeaseActivity {
            activity_id: "8000:nope".into(),
            end_date: "2026-11-30".into(),
        }),
        &actor,
    )
    .await
    .unwrap();
    let Err(RequestError::Invalid(f)) =
        requests::submit(&db.store, &c, &idnat, &bad.id, &actor).await
    else {
        panic!()
    };
    assert_eq!(f[0].field, "activity_id");
    requests::discard_draft(&db.store, &c, &idnat, &bad.id, &actor)
        .await
        .unwrap();
    let profession = submitted(
        &db,
        &c,
        &idnat,
        Change::NewProfession(NewProfession {
            profession_code: "28".into(),
            activity_id: current.clone(),
            start_date: "2026-11-23".into(),
        }),
    )
    .await;
    assert_eq!(profession.department, "31");
    let cease = submitted(
        &db,
        &c,
        &idnat,
        Change::CeaseActivity(CeaseActivity {
            activity_id: current.clone(),
            end_date: "2026-11-30".into(),
        }),
    )
    .await;
    // REG-12: coordinates validated elsewhere are filed approved.
    let contact = requests::file_approved(
        &db.store,
        &c,
        &idnat,
        &Change::Contact(ContactChange {
            email: "jerome@fc.example".into(),
            mobile: "+33 6 99 88 77 66".into(),
            address: "1 rue du Taur, 31000 Toulouse".into(),
        }),
        "franceconnect:sub-123",
    )
    .await
    .unwrap();
    assert_eq!(contact.state, RequestState::Approved);
    for id in [&profession.id, &cease.id] {
        requests::decide(&db.store, &c, id, "agent:alice", Decision::Approve, DELAY)
            .await
            .unwrap();
    }
    c.advance(Duration::seconds(DELAY - 1));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 0);
    let p = queries::get_professional(&db.store, &queries::parse_id(&idnat).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.contact.unwrap().email, "jerome.petit@example.test");
    c.advance(Duration::seconds(1));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 3);
    let p = queries::get_professional(&db.store, &queries::parse_id(&idnat).unwrap())
        .await
        .unwrap()
        .unwrap();
    let contact = p.contact.unwrap();
    assert_eq!(contact.email, "jerome@fc.example");
    assert_eq!(contact.mobile, "+33699887766");
    assert_eq!(contact.address, "1 rue du Taur, 31000 Toulouse");
    let old = p.activities.iter().find(|a| a.id == current).unwrap();
    assert!(!old.active, "{dialect:?}: ceased");
    let new = p
        .activities
        .iter()
        .find(|a| a.profession.code == "28")
        .unwrap();
    assert!(new.active);
    assert_eq!(
        new.structure.as_ref().map(|s| s.id.clone()),
        old.structure.as_ref().map(|s| s.id.clone()),
        "{dialect:?}: the new profession at the same place"
    );
    let ended: Option<i64> = sqlx::query("SELECT ended_at FROM reg_activity WHERE id = $1")
        .bind(&current)
        .fetch_one(db.store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(ended, Some(datetime!(2026-11-30 0:00 UTC).unix_timestamp()));
    db.cleanup().await;
}

async fn reg_06_open_requests_are_bounded_per_person(dialect: Dialect) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    for i in 0..requests::OPEN_MAX_PER_PERSON {
        submitted(
            &db,
            &c,
            &idnat,
            Change::ExerciseName(ExerciseName {
                last_name: format!("Petit{i}"),
                first_name: "Jérôme".into(),
            }),
        )
        .await;
    }
    let err = requests::save_draft(
        &db.store,
        &c,
        &idnat,
        &Change::ExerciseName(ExerciseName::default()),
        "ps:x",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RequestError::TooManyOpen(10)), "{err}");
    assert!(err.to_string().contains("attendez la décision"));
    // Unknown person: refused.
    assert!(matches!(
        requests::save_draft(
            &db.store,
            &c,
            "810000000000",
            &Change::ExerciseName(ExerciseName::default()),
            "ps:x"
        )
        .await,
        Err(RequestError::UnknownPerson(_))
    ));
    // Two nodes applying at once apply each request once.
    let queue = requests::queue(&db.store, &["*".to_string()])
        .await
        .unwrap();
    assert_eq!(queue.len(), 10);
    requests::decide(
        &db.store,
        &c,
        &queue[0].id,
        "agent:a",
        Decision::Approve,
        DELAY,
    )
    .await
    .unwrap();
    c.advance(Duration::seconds(DELAY));
    let (a, b) = tokio::join!(
        requests::apply_due(&db.store, &c, DELAY),
        requests::apply_due(&db.store, &c, DELAY)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "{dialect:?}");
    db.cleanup().await;
}

async fn reg_12_coordinates_without_an_address_keep_the_registry_s(dialect: Dialect) {
    let c = clock();
    let (db, idnat) = with_petit(dialect, &c).await;
    let id = queries::parse_id(&idnat).unwrap();
    let before = queries::get_professional(&db.store, &id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .unwrap();
    let filed = requests::file_approved(
        &db.store,
        &c,
        &idnat,
        &Change::Contact(ContactChange {
            email: "jerome@fc.example".into(),
            mobile: "0699887766".into(),
            address: String::new(),
        }),
        "franceconnect:sub",
    )
    .await
    .unwrap();
    let shown = requests::get(&db.store, &filed.id).await.unwrap().unwrap();
    assert_eq!(
        shown.fields[2].after, before.address,
        "{dialect:?}: unchanged"
    );
    c.advance(Duration::seconds(DELAY));
    assert_eq!(requests::apply_due(&db.store, &c, DELAY).await.unwrap(), 1);
    let after = queries::get_professional(&db.store, &id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .unwrap();
    assert_eq!(after.email, "jerome@fc.example");
    assert_eq!(after.mobile, "+33699887766");
    assert_eq!(after.address, before.address);
    db.cleanup().await;
}

on_both_engines! {
    reg_12_coordinates_without_an_address_keep_the_registry_s => reg_12_coordinates_without_an_address_keep_the_registry_s;
    reg_06_a_draft_is_kept_as_typed_then_checked_and_queued_in_its_department => reg_06_a_draft_is_kept_as_typed_then_checked_and_queued_in_its_department;
    reg_06_a_rejection_needs_a_reason_and_is_emailed => reg_06_a_rejection_needs_a_reason_and_is_emailed;
    reg_06_an_approved_change_waits_for_the_delay_then_shows_everywhere => reg_06_an_approved_change_waits_for_the_delay_then_shows_everywhere;
    reg_06_cease_new_profession_and_contact_apply_after_the_delay => reg_06_cease_new_profession_and_contact_apply_after_the_delay;
    reg_06_open_requests_are_bounded_per_person => reg_06_open_requests_are_bounded_per_person;
}
