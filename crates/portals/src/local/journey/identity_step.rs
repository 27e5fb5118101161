//! Step 1: birth date + RPPS + terms, checked against the registry (ACC-01, ACC-05), and
//! the helpers every step's page uses.

use super::*;
// ---------------------------------------------------------------------------------------
// Step 1: identity.
// ---------------------------------------------------------------------------------------

pub(super) async fn identity_step(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
    source: &ClientSource,
) -> Result<Response, PortalError> {
    let typed = Typed::from_form(form);
    let today = today_of(st.portals.now());
    let errors = identity::field_errors(&typed, today);
    let data = Data {
        typed: typed.clone(),
        ..Data::default()
    };
    // What was typed is kept 10 minutes, whatever the outcome (ACC-02).
    let flow = save(st, visit, kind, flow, IDENTITY, data.clone(), None).await?;
    let flow_id = flow.as_ref().map(|f| f.id.clone());
    // The form again, with what was typed, its errors and the alert that blocks.
    let again = |alert: Option<Alert>| {
        render_identity(st, visit, kind, flow_id.as_deref(), &typed, &errors, alert)
    };
    if !errors.is_empty() {
        return Ok(again(None));
    }
    let (Ok(birth), Ok(rpps)) = (
        identity::parse_birth_date(&typed.birth_date, today),
        identity::parse_rpps(&typed.rpps),
    ) else {
        return Ok(again(None));
    };
    let tr = visit.tr();
    let blocking = |text: String, link: Option<Link>| {
        let mut a = Alert::new(AlertKind::Error, text).id("blocage");
        if let Some(l) = link {
            a = a.link(l);
        }
        Some(a)
    };
    let now = st.portals.now();
    let store = st.portals.store();
    let person = match identity::check(store, &st.portal, &source.throttle_key(), &rpps, birth, now)
        .await?
    {
        Check::Found(p) => p,
        Check::NoMatch => {
            let alert = blocking(tr.t("account-no-match"), None);
            return Ok(again(alert));
        }
        Check::Throttled { retry_after_secs } => {
            let text = tr.t_with(
                "account-identity-throttled",
                &[("minutes", Arg::Num(minutes(retry_after_secs)))],
            );
            let alert = blocking(text, None);
            return Ok(again(alert));
        }
    };
    let account = {
        let mut conn = store.pool().acquire().await?;
        accounts::by_idnat(&mut conn, &st.portal.slug, &person.idnat).await?
    };
    match (kind, account.is_some()) {
        (Kind::Creation, true) => {
            let link = Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-exists-link"),
            )
            .id("lien-recuperation");
            let alert = blocking(tr.t("account-exists"), Some(link));
            return Ok(again(alert));
        }
        (Kind::Recovery, false) => {
            let link = Link::new(format!("{}/creer", st.base()), tr.t("account-none-link"))
                .id("lien-creation");
            let alert = blocking(tr.t("account-none"), Some(link));
            return Ok(again(alert));
        }
        _ => {}
    }
    let coordinates = coordinates_of(&person);
    if coordinates.is_empty() {
        let alert = blocking(tr.t("account-no-coordinates"), None);
        return Ok(again(alert));
    }
    let data = Data {
        typed,
        rpps: Some(person.rpps.clone()),
        idnat: Some(person.idnat.clone()),
        coordinates,
        ..Data::default()
    };
    let flow = save(st, visit, kind, flow, CHOOSE, data, Some(JOURNEY_TTL_SECS)).await?;
    Ok(to_flow(st, visit, kind, flow))
}

pub(super) fn coordinates_of(person: &Person) -> Vec<Coordinate> {
    let mut out = Vec::new();
    if let Some(m) = &person.mobile {
        out.push(Coordinate {
            channel: "sms".into(),
            masked: mask_phone(m),
        });
    }
    if let Some(e) = &person.email {
        out.push(Coordinate {
            channel: "email".into(),
            masked: mask_email(e),
        });
    }
    out
}

pub(super) fn render_identity(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<&str>,
    typed: &Typed,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let err = |name: &str| errors.get(name).map(|k| tr.t(k));
    let title = tr.t(kind.key("title"));
    let terms = st
        .portal
        .terms_url
        .clone()
        .unwrap_or_else(|| format!("{}/conditions", st.base()));
    let privacy = st
        .portal
        .privacy_url
        .clone()
        .unwrap_or_else(|| format!("{}/confidentialite", st.base()));
    let mut terms_box = TermsBox::new(
        "cgu",
        vec![
            TermsPart::Text(tr.t("account-terms-accept-1")),
            TermsPart::Link(Link::new(terms, tr.t("account-terms-accept-terms"))),
            TermsPart::Text(tr.t("account-terms-accept-2")),
            TermsPart::Link(Link::new(privacy, tr.t("account-terms-accept-privacy"))),
            TermsPart::Text(tr.t("account-terms-accept-3")),
        ],
        typed.terms,
    );
    terms_box.field = terms_box.field.id("cgu").error(err("cgu"));
    let mut page = visit.form_page(st, title, format!("{}/{}", st.base(), kind.path()));
    page.steps = Some(steps(tr, kind, 1));
    page.alerts.extend(alert);
    page.intro.push(tr.t("account-required-fields"));
    if let Some(id) = flow {
        page = page.hidden("flow", id);
    }
    page.blocks = vec![
        Block::Field(
            Field::new("date_naissance", tr.t("account-birth-date"))
                .hint(tr.t("account-birth-date-hint"))
                .value(typed.birth_date.clone())
                .autocomplete("bday")
                .inputmode("numeric")
                .required()
                .error(err("date_naissance")),
        ),
        Block::Field(
            Field::new("rpps", tr.t("account-rpps"))
                .hint(tr.t("account-rpps-hint"))
                .value(typed.rpps.clone())
                .inputmode("numeric")
                .required()
                .error(err("rpps")),
        ),
        Block::Link(Link::new("/annuaire", tr.t("account-rpps-where")).id("ou-trouver-rpps")),
        Block::Terms(terms_box),
    ];
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary).id("valider")];
    page.links = vec![
        Link::new(st.base(), tr.t("account-login")).id("lien-connexion"),
        Link::new(
            format!("{}/identifiants-oublies", st.base()),
            tr.t("account-forgot"),
        )
        .id("lien-oubli"),
    ];
    let page = page.summarize();
    let status = if errors.is_empty() && page.alerts.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    visit.page(st, status, pages::render(&page))
}
