//! Pieces shared by the key pages: the status badge, scope checkboxes, the expiry field and the panel
//! that shows a new key once.

use crate::api::ApiError;
use crate::api::keys::{EXPIRY_CHOICES, KeyStatusView, SCOPES_GIVEN, ScopeView, ShownKey};
use leptos::prelude::*;

/// The status of a key as a coloured badge.
#[component]
pub fn StatusBadge(status: KeyStatusView) -> impl IntoView {
    let (class, text) = match &status {
        KeyStatusView::Active => ("badge badge-active", "Active".to_owned()),
        KeyStatusView::ExpiresSoon => ("badge badge-soon", "Expires soon".to_owned()),
        KeyStatusView::Rolled { until } => ("badge badge-rolled", format!("Rolled, valid until {until}")),
        KeyStatusView::Expired => ("badge badge-dead", "Expired".to_owned()),
        KeyStatusView::Revoked => ("badge badge-dead", "Revoked".to_owned()),
    };
    view! { <span class=class>{text}</span> }
}

/// Checkboxes for the catalogue's scopes, with their descriptions; `checked` are ticked.
#[component]
pub fn ScopeChoices(
    /// The catalogue.
    scopes: Vec<ScopeView>,
    /// The scopes ticked at first.
    #[prop(optional)]
    checked: Vec<String>,
    /// The last answer from the server for this form.
    #[prop(into)]
    result: Signal<Option<ApiError>>,
) -> impl IntoView {
    let error = move || result.get().and_then(|err| err.message_for("scopes"));
    // A form posted without scripts comes back as a new page, ticked as it was sent.
    let given = result.with_untracked(|err| {
        err.as_ref().and_then(|err| err.given(SCOPES_GIVEN)).map(|text| text.lines().map(str::to_owned).collect())
    });
    let checked: Vec<String> = given.unwrap_or(checked);
    view! {
        <fieldset class="field scope-choices" class:field-invalid=move || error().is_some()>
            <legend>"Scopes"</legend>
            <p class="field-hint">"What the key may do. Services check these on every request."</p>
            {scopes
                .into_iter()
                .enumerate()
                .map(|(i, scope)| {
                    let id = format!("scope-{i}");
                    let label_for = id.clone();
                    let is_checked = checked.contains(&scope.name);
                    view! {
                        <label class="scope" for=label_for>
                            <input type="checkbox" id=id name=format!("scopes[{i}]") value=scope.name.clone() checked=is_checked/>
                            <span>
                                <code>{scope.name.clone()}</code>
                                <span class="scope-description">{scope.description}</span>
                            </span>
                        </label>
                    }
                })
                .collect_view()}
            <p class="field-error" aria-live="polite">{error}</p>
        </fieldset>
    }
}

/// When the key expires: never, in 7/30/90 days, or on a chosen date. `keep` adds "keep as it is".
#[component]
pub fn ExpiryChoice(
    /// Offer "Keep the current expiry" first (for editing).
    #[prop(optional)]
    keep: Option<String>,
    /// The last answer from the server for this form.
    #[prop(into)]
    result: Signal<Option<ApiError>>,
) -> impl IntoView {
    let error =
        move || result.get().and_then(|err| err.message_for("expires_at").or_else(|| err.message_for("custom_date")));
    // A form posted without scripts comes back as a new page, with the choice and date that were sent.
    let (given_choice, given_date) = result.with_untracked(|err| {
        let given = |field| err.as_ref().and_then(|err| err.given(field)).map(str::to_owned);
        (given("expiry"), given("custom_date"))
    });
    let chosen = given_choice.unwrap_or_else(|| if keep.is_some() { "keep" } else { "30" }.to_owned());
    // The date field shows while "On a date…" is chosen: a style sheet rule (`:has`), so that it works in
    // forms without the bundle and costs none.
    view! {
        <div class="field expiry-choice" class:field-invalid=move || error().is_some()>
            <label for="field-expiry">"Expires"</label>
            <select id="field-expiry" name="expiry">
                {keep.map(|current| {
                    view! { <option value="keep" selected=chosen == "keep">{format!("Keep: {current}")}</option> }
                })}
                {EXPIRY_CHOICES
                    .iter()
                    .map(|(value, label)| {
                        view! { <option value=*value selected=*value == chosen>{*label}</option> }
                    })
                    .collect_view()}
            </select>
            <div class="field custom-date">
                <label for="field-custom-date">"Expiry date"</label>
                <input id="field-custom-date" type="date" name="custom_date" value=given_date/>
            </div>
            <p class="field-error" aria-live="polite">{error}</p>
        </div>
    }
}

/// A new key, shown in full this once, with a Copy button.
#[component]
pub fn ShownOnce(
    /// The key.
    key: ShownKey,
    /// What it is, for the heading: "key" or "service token".
    #[prop(default = "key")]
    noun: &'static str,
    /// The product's name, which keeps the fingerprint.
    product: String,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = key.0.clone();
    let kept = match noun {
        "key" => " keeps only a fingerprint of it: if you lose it, roll or revoke it and create another.",
        "signing secret" => " keeps it sealed to sign deliveries and never shows it again: if you lose it, rotate it.",
        _ => " keeps only a fingerprint of it: if you lose it, revoke it and create another.",
    };
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&text);
        copied.set(true);
    };
    view! {
        <section class="shown-once" aria-labelledby="shown-once-title">
            <h2 id="shown-once-title">{format!("Copy your new {noun} now")}</h2>
            <p>
                <strong>{format!("This is the only time the {noun} is shown.")}</strong>
                {format!(" {product}{kept}")}
            </p>
            <div class="key-display">
                <code data-testid="new-key">{key.0}</code>
                <button type="button" class="button button-primary" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </section>
    }
}
