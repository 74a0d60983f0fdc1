//! Labelled form fields with inline messages, and the banner for errors that belong to no field.

use crate::api::ApiError;
use leptos::prelude::*;

/// Checks a field's value as the user leaves it; `Some(message)` when it will be refused.
pub type Validator = fn(&str) -> Option<String>;

/// A labelled input with an optional hint and an inline error: the error from the server when the last
/// submission was refused for this field, or the validator's verdict when the user left the field.
#[component]
pub fn Field(
    /// The visible label, which is also the input's accessible name.
    label: &'static str,
    /// The form field name sent to the server.
    name: &'static str,
    /// The input type.
    #[prop(default = "text")]
    kind: &'static str,
    /// The `autocomplete` token.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// Help shown under the input.
    #[prop(optional)]
    hint: Option<&'static str>,
    /// Most characters the input accepts.
    #[prop(optional)]
    maxlength: Option<u32>,
    /// Checked when the user leaves the field.
    #[prop(optional)]
    validate: Option<Validator>,
    /// The browser asks for a value before it posts the form (unless the form says `novalidate`).
    #[prop(optional)]
    required: bool,
    /// The initial value, unless the server gave back what was typed with a refusal.
    #[prop(optional, into)]
    value: Option<String>,
    /// The last answer from the server for this form.
    #[prop(into)]
    result: Signal<Option<ApiError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    // A form posted without scripts comes back as a new page: what was typed, when the server gave it back
    // with its refusal, rather than the saved value.
    let value = result.with_untracked(|err| err.as_ref().and_then(|err| err.given(name)).map(str::to_owned)).or(value);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let local_error = RwSignal::new(None::<String>);
    let error = Memo::new(move |_| local_error.get().or_else(|| result.get().and_then(|err| err.message_for(name))));
    let describedby = hint.map_or_else(|| error_id.clone(), |_| format!("{hint_id} {error_id}"));

    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                maxlength=maxlength
                required=required
                value=value
                aria-describedby=describedby
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                on:input=move |_| local_error.set(None)
                on:blur=move |ev| {
                    if let Some(check) = validate {
                        let value = event_target_value(&ev);
                        local_error.set(if value.is_empty() { None } else { check(&value) });
                    }
                }
            />
            {hint.map(|text| view! { <p class="field-hint" id=hint_id>{text}</p> })}
            <p class="field-error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}

/// A banner for a refusal that belongs to the whole form (wrong password, throttling, server trouble).
#[component]
pub fn FormAlert(
    #[prop(into)] result: Signal<Option<ApiError>>,
    /// Field refusals too, for forms with no field of their own to show them beside (a button, a select).
    #[prop(optional)]
    every: bool,
) -> impl IntoView {
    let message = move || result.get().filter(|err| every || !err.is_field_error()).map(|err| err.to_string());
    view! {
        <div class="form-alert" role="alert">
            {move || message().map(|text| view! { <p class="alert alert-error">{text}</p> })}
        </div>
    }
}

/// The refusal in an action's last answer, for its form's fields and banner: `None` before it answers, when
/// it succeeded, and once the action is gone (an island's action can be disposed before its view).
pub fn refusal<T, S>(value: S) -> Signal<Option<ApiError>>
where
    S: leptos::reactive::traits::Get<Value = Option<Result<T, ApiError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.try_get().flatten().and_then(Result::err))
}

/// What the address asks of a page whose forms the browser posts itself (see `api::outcome`): a step to
/// confirm first (`?confirm=…`), a secret to rotate (`?rotate=…`), and what the last post did (`?done=…`)
/// with its details. Read once: such a page is rendered anew after each post.
#[derive(Debug, Clone, Default)]
pub struct Asked(leptos_router::params::ParamsMap);

impl Asked {
    /// Reads the current address.
    pub fn read() -> Self {
        Self(leptos_router::hooks::use_query_map().get_untracked())
    }

    /// What the last post did, such as `role`.
    pub fn done(&self) -> Option<&str> {
        self.0.get_str(crate::api::outcome::DONE)
    }

    /// Whether the last post did `what`.
    pub fn did(&self, what: &str) -> bool {
        self.done() == Some(what)
    }

    /// A count the last post reported with what it did (see `api::outcome::done_with`), such as `tokens`
    /// after a key was revoked.
    pub fn count(&self, name: &str) -> Option<u64> {
        self.0.get_str(name)?.parse().ok()
    }

    /// Whether the page asks to confirm the step on `what` (an id, or a word such as `revoke`).
    pub fn confirming(&self, what: &str) -> bool {
        self.0.get_str("confirm") == Some(what)
    }

    /// Whether the page asks to confirm rotating the secret of `what`.
    pub fn rotating(&self, what: &str) -> bool {
        self.0.get_str("rotate") == Some(what)
    }
}
