//! The components of the kit as data; `templates/kit/components.html` renders each one
//! (`{% call c::field(f) %}` …). Builders take the texts already translated; the ids they
//! derive (`{id}-aide`, `{id}-erreur`) are what `aria-describedby` names, so a template
//! cannot forget the wiring.

use crate::catalogue::{Arg, Tr};

/// A labelled input with an optional hint and error.
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub id: String,
    pub name: String,
    pub label: String,
    /// `type` of the input: `text`, `email`, `password`, `date`…
    pub kind: &'static str,
    pub value: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: Option<&'static str>,
    pub inputmode: Option<&'static str>,
    pub pattern: Option<&'static str>,
    pub maxlength: Option<u32>,
    pub required: bool,
    /// More ids for `aria-describedby` (a password's rules and strength).
    pub described_also: Vec<String>,
    /// In error although the message is elsewhere (an alert above the form).
    pub invalid: bool,
}

impl Field {
    /// A text input named and identified `name`.
    pub fn new(name: &str, label: impl Into<String>) -> Field {
        Field {
            id: name.to_string(),
            name: name.to_string(),
            label: label.into(),
            kind: "text",
            ..Field::default()
        }
    }

    pub fn id(mut self, id: &str) -> Field {
        self.id = id.to_string();
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Field {
        self.kind = kind;
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Field {
        self.hint = Some(hint.into());
        self
    }

    pub fn error(mut self, error: Option<String>) -> Field {
        self.error = error;
        self
    }

    pub fn autocomplete(mut self, a: &'static str) -> Field {
        self.autocomplete = Some(a);
        self
    }

    pub fn inputmode(mut self, m: &'static str) -> Field {
        self.inputmode = Some(m);
        self
    }

    /// Marks the field invalid, its message being the element `message_id` (an alert
    /// above the form), which `aria-describedby` then names first.
    pub fn invalid_by(mut self, message_id: &str) -> Field {
        self.invalid = true;
        self.described_also.insert(0, message_id.to_string());
        self
    }

    /// `aria-invalid`: an error of its own, or one shown elsewhere.
    pub fn is_invalid(&self) -> bool {
        self.error.is_some() || self.invalid
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    /// The 6-digit code input: numeric keyboard, the code offered by the phone from the
    /// SMS (`one-time-code`), six digits.
    pub fn code(name: &str, label: impl Into<String>) -> Field {
        Field {
            inputmode: Some("numeric"),
            autocomplete: Some("one-time-code"),
            pattern: Some("[0-9]{6}"),
            maxlength: Some(6),
            required: true,
            ..Field::new(name, label)
        }
    }

    pub fn hint_id(&self) -> String {
        format!("{}-aide", self.id)
    }

    pub fn error_id(&self) -> String {
        format!("{}-erreur", self.id)
    }

    /// `aria-describedby`: the error first (read first), the hint, then the others.
    pub fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.error.is_some() {
            ids.push(self.error_id());
        }
        if self.hint.is_some() {
            ids.push(self.hint_id());
        }
        ids.extend(self.described_also.iter().cloned());
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// A `<select>` with its label, hint and error.
#[derive(Debug, Clone)]
pub struct Select {
    pub field: Field,
    pub options: Vec<Choice>,
}

/// One option of a select or one radio of a choice.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: &str, label: impl Into<String>, selected: bool) -> Choice {
        Choice {
            value: value.to_string(),
            label: label.into(),
            selected,
        }
    }
}

impl Select {
    pub fn new(field: Field, options: Vec<Choice>) -> Select {
        Select { field, options }
    }
}

/// A checkbox, its label after it.
#[derive(Debug, Clone)]
pub struct Checkbox {
    pub field: Field,
    pub checked: bool,
}

impl Checkbox {
    /// Checked boxes send `1`.
    pub fn new(name: &str, label: impl Into<String>, checked: bool) -> Checkbox {
        Checkbox {
            field: Field::new(name, label).kind("checkbox").value("1"),
            checked,
        }
    }
}

/// A group of radios in a fieldset whose legend is the question: the choice among the
/// registry's masked coordinates (`+3378***22`, `tu***01@cn.medecin.fr`).
#[derive(Debug, Clone)]
pub struct RadioGroup {
    pub id: String,
    pub name: String,
    pub legend: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub choices: Vec<Choice>,
}

impl RadioGroup {
    pub fn new(name: &str, legend: impl Into<String>, choices: Vec<Choice>) -> RadioGroup {
        RadioGroup {
            id: name.to_string(),
            name: name.to_string(),
            legend: legend.into(),
            hint: None,
            error: None,
            choices,
        }
    }

    /// The id of the first radio: where the error summary's link goes.
    pub fn first_id(&self) -> String {
        format!("{}-1", self.id)
    }

    pub fn hint_id(&self) -> String {
        format!("{}-aide", self.id)
    }

    pub fn error_id(&self) -> String {
        format!("{}-erreur", self.id)
    }

    pub fn described_by(&self) -> Option<String> {
        let ids: Vec<String> = [
            self.error.as_ref().map(|_| self.error_id()),
            self.hint.as_ref().map(|_| self.hint_id()),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// The box at the top of a form that failed: its title, then one link per field in
/// error, to that field. It takes the focus when the page opens (RGAA 11.10/11.11).
#[derive(Debug, Clone, Default)]
pub struct ErrorSummary {
    pub title: String,
    /// (id of the field, message).
    pub items: Vec<(String, String)>,
}

impl ErrorSummary {
    pub fn new(tr: &Tr) -> ErrorSummary {
        ErrorSummary {
            title: tr.t("kit-error-summary-title"),
            items: Vec::new(),
        }
    }

    /// Adds the field's error, if it has one.
    pub fn field(mut self, f: &Field) -> ErrorSummary {
        if let Some(e) = &f.error {
            self.items.push((f.id.clone(), e.clone()));
        }
        self
    }

    pub fn radios(mut self, g: &RadioGroup) -> ErrorSummary {
        if let Some(e) = &g.error {
            self.items.push((g.first_id(), e.clone()));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Where the user is in a wizard: "Étape 2 sur 4", the step's title, the next one's.
#[derive(Debug, Clone)]
pub struct Steps {
    pub position: String,
    pub title: String,
    pub next: Option<String>,
    pub current: u32,
    pub total: u32,
}

impl Steps {
    pub fn new(tr: &Tr, current: u32, total: u32, title: impl Into<String>) -> Steps {
        Steps {
            position: tr.t_with(
                "kit-steps-position",
                &[
                    ("current", Arg::Num(current.into())),
                    ("total", Arg::Num(total.into())),
                ],
            ),
            title: title.into(),
            next: None,
            current,
            total,
        }
    }

    pub fn next(mut self, tr: &Tr, title: &str) -> Steps {
        self.next = Some(tr.t_with("kit-steps-next", &[("title", Arg::from(title))]));
        self
    }

    /// 1..=total, for the bar's segments.
    pub fn segments(&self) -> Vec<bool> {
        (1..=self.total).map(|i| i <= self.current).collect()
    }
}

/// A password input with its strength and its rules, met or not.
#[derive(Debug, Clone)]
pub struct PasswordInput {
    pub field: Field,
    /// "Sécurité du mot de passe :"
    pub strength_label: String,
    /// 0 weak, 1 medium, 2 strong; `None` before anything is typed.
    pub strength: Option<u8>,
    pub strength_text: String,
    pub rules: Vec<Rule>,
    /// "respectée" / "non respectée", read after each rule.
    pub met_text: String,
    pub unmet_text: String,
    /// Where the live meter's script asks for the strength as the user types
    /// (`assets/password.js`); without it the meter shows the last submitted value only.
    pub live_url: Option<String>,
}

/// One rule of a password ("12 caractères au moins").
#[derive(Debug, Clone)]
pub struct Rule {
    pub text: String,
    pub met: bool,
}

impl PasswordInput {
    /// `new_password`: a password being chosen (`autocomplete=new-password`, strength and
    /// rules shown) rather than the current one.
    pub fn new(tr: &Tr, name: &str, label: impl Into<String>, new_password: bool) -> Self {
        let mut field = Field::new(name, label).kind("password").required();
        field.autocomplete = Some(if new_password {
            "new-password"
        } else {
            "current-password"
        });
        if new_password {
            field.described_also = vec![format!("{name}-force"), format!("{name}-regles")];
        }
        PasswordInput {
            field,
            strength_label: tr.t("kit-password-strength"),
            strength: None,
            strength_text: String::new(),
            rules: Vec::new(),
            met_text: tr.t("kit-rule-met"),
            unmet_text: tr.t("kit-rule-unmet"),
            live_url: None,
        }
    }

    pub fn strength(mut self, tr: &Tr, level: u8) -> Self {
        let level = level.min(2);
        self.strength = Some(level);
        self.strength_text = tr.t(match level {
            0 => "kit-password-weak",
            1 => "kit-password-medium",
            _ => "kit-password-strong",
        });
        self
    }

    pub fn rule(mut self, text: impl Into<String>, met: bool) -> Self {
        self.rules.push(Rule {
            text: text.into(),
            met,
        });
        self
    }

    /// The meter follows the typing, asking `url` (a POST of the form's fields).
    pub fn live(mut self, url: impl Into<String>) -> Self {
        self.live_url = Some(url.into());
        self
    }

    pub fn shows_meter(&self) -> bool {
        self.field.described_also.len() == 2
    }

    pub fn strength_class(&self) -> &'static str {
        match self.strength {
            None => "jauge",
            Some(0) => "jauge jauge-faible",
            Some(1) => "jauge jauge-moyen",
            Some(_) => "jauge jauge-fort",
        }
    }
}

/// How an alert reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Info,
    Success,
    Warning,
    Error,
}

/// A message box. Errors and warnings are `role=alert` (read at once), the others
/// `role=status`.
#[derive(Debug, Clone)]
pub struct Alert {
    pub kind: AlertKind,
    pub id: Option<String>,
    pub title: Option<String>,
    pub text: String,
    /// A link after the text (the "récupération de mot de passe" of ACC-01).
    pub link: Option<Link>,
}

impl Alert {
    pub fn new(kind: AlertKind, text: impl Into<String>) -> Alert {
        Alert {
            kind,
            id: None,
            title: None,
            text: text.into(),
            link: None,
        }
    }

    pub fn id(mut self, id: &str) -> Alert {
        self.id = Some(id.to_string());
        self
    }

    pub fn title(mut self, title: impl Into<String>) -> Alert {
        self.title = Some(title.into());
        self
    }

    pub fn link(mut self, link: Link) -> Alert {
        self.link = Some(link);
        self
    }

    pub fn class(&self) -> &'static str {
        match self.kind {
            AlertKind::Info => "alerte alerte-info",
            AlertKind::Success => "alerte alerte-succes",
            AlertKind::Warning => "alerte alerte-attention",
            AlertKind::Error => "alerte alerte-erreur",
        }
    }

    pub fn role(&self) -> &'static str {
        match self.kind {
            AlertKind::Error | AlertKind::Warning => "alert",
            AlertKind::Info | AlertKind::Success => "status",
        }
    }
}

/// How a button or a link that looks like one reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ButtonKind {
    #[default]
    Primary,
    Secondary,
    /// Looks like a link (a form's "Retour", "Renvoyer le code").
    Tertiary,
}

impl ButtonKind {
    pub fn class(self) -> &'static str {
        match self {
            ButtonKind::Primary => "bouton",
            ButtonKind::Secondary => "bouton bouton-secondaire",
            ButtonKind::Tertiary => "bouton-lien",
        }
    }
}

/// A submit button; `name`/`value` tell which one of a form's buttons was pressed.
#[derive(Debug, Clone, Default)]
pub struct Button {
    pub label: String,
    pub kind: ButtonKind,
    pub id: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
}

impl Button {
    pub fn new(label: impl Into<String>, kind: ButtonKind) -> Button {
        Button {
            label: label.into(),
            kind,
            ..Button::default()
        }
    }

    pub fn id(mut self, id: &str) -> Button {
        self.id = Some(id.to_string());
        self
    }

    pub fn action(mut self, name: &str, value: &str) -> Button {
        self.name = Some(name.to_string());
        self.value = Some(value.to_string());
        self
    }
}

/// A link, possibly drawn as a button.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub label: String,
    pub kind: Option<ButtonKind>,
    pub id: Option<String>,
}

impl Link {
    pub fn new(href: impl Into<String>, label: impl Into<String>) -> Link {
        Link {
            href: href.into(),
            label: label.into(),
            kind: None,
            id: None,
        }
    }

    pub fn button(mut self, kind: ButtonKind) -> Link {
        self.kind = Some(kind);
        self
    }

    pub fn id(mut self, id: &str) -> Link {
        self.id = Some(id.to_string());
        self
    }

    pub fn class(&self) -> &'static str {
        self.kind.map_or("", ButtonKind::class)
    }
}

/// The acceptance of terms: a checkbox whose label is a sentence with links to the
/// documents ("J'ai lu et j'accepte les Conditions générales d'utilisation et la
/// Politique de confidentialité."), optionally the terms themselves in a scrollable box
/// above it.
#[derive(Debug, Clone)]
pub struct TermsBox {
    pub field: Field,
    pub checked: bool,
    pub parts: Vec<TermsPart>,
    /// The text of the terms, shown in a scrollable, focusable region.
    pub text: Option<(String, Vec<String>)>,
    /// What the reading script says before and after the end was reached.
    pub read_hint: String,
    pub read_done: String,
}

/// A piece of the acceptance sentence.
#[derive(Debug, Clone)]
pub enum TermsPart {
    Text(String),
    Link(Link),
}

impl TermsPart {
    pub fn text(&self) -> Option<&str> {
        match self {
            TermsPart::Text(t) => Some(t),
            TermsPart::Link(_) => None,
        }
    }

    pub fn link(&self) -> Option<&Link> {
        match self {
            TermsPart::Link(l) => Some(l),
            TermsPart::Text(_) => None,
        }
    }
}

impl TermsBox {
    pub fn new(name: &str, parts: Vec<TermsPart>, checked: bool) -> TermsBox {
        TermsBox {
            field: Field::new(name, "").kind("checkbox").value("1").required(),
            checked,
            parts,
            text: None,
            read_hint: String::new(),
            read_done: String::new(),
        }
    }

    /// The terms shown above the box: (region title, paragraphs).
    pub fn with_text(mut self, title: impl Into<String>, paragraphs: Vec<String>) -> TermsBox {
        self.text = Some((title.into(), paragraphs));
        self
    }

    /// The terms must be read to their end before they can be accepted (`assets/terms.js`
    /// enables the box and the form's button then); `tr` gives what the hint says.
    pub fn read_to_the_end(mut self, tr: &Tr) -> TermsBox {
        self.read_hint = tr.t("kit-terms-read-hint");
        self.read_done = tr.t("kit-terms-read-done");
        self
    }
}
