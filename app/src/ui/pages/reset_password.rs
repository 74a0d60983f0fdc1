//! `/reset-password/:secret`: the link from the reset message; chooses a new password.

use crate::api::recovery::{ResetPassword, reset_link_works};
use crate::ui::components::form::{Field, FormAlert, refusal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The page the reset link opens.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let secret = use_params_map().get_untracked().get("secret").unwrap_or_default();
    let works = Resource::new(
        {
            let secret = secret.clone();
            move || secret.clone()
        },
        reset_link_works,
    );
    let hidden_secret = StoredValue::new(secret);
    view! {
        <Title text="Choose a new password"/>
        <section class="auth-card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    Suspend::new(async move {
                        match works.await {
                            Ok(true) => view! { <ResetPasswordForm secret=hidden_secret.get_value()/> }.into_any(),
                            Ok(false) => view! {
                                <p class="alert alert-error" role="alert" data-testid="reset-unusable">"This link has expired or has already been used."</p>
                                <a class="button button-primary button-block" href="/forgot-password">"Ask for a new link"</a>
                            }.into_any(),
                            Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// The new password, then word that it is set.
#[island(lazy)]
fn ResetPasswordForm(
    /// The link's secret, sent back with the new password.
    secret: String,
) -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<ResetPassword>::new();
    let value = action.value();
    let result = refusal(value);
    let done = move || matches!(value.get(), Some(Ok(())));
    let pending = action.pending();
    view! {
        <Show
            when=done
            fallback=move || { let secret = secret.clone(); view! {
                <p class="lede">"Using this link signs you out everywhere."</p>
                <ActionForm action attr:novalidate=true attr:class="form">
                    <FormAlert result/>
                    <input type="hidden" name="secret" value=secret/>
                    <Field label="New password" name="new_password" kind="password" autocomplete="new-password" maxlength=128 hint="At least 8 characters; 12 or more is better." result/>
                    <button type="submit" class="button button-primary button-block" disabled=pending>
                        {move || if pending.get() { "Saving…" } else { "Set new password" }}
                    </button>
                </ActionForm>
            }}
        >
            <p class="alert alert-success" role="status" data-testid="reset-done">"Your password is changed, and every session is signed out."</p>
            <a class="button button-primary button-block" href="/sign-in">"Sign in"</a>
        </Show>
    }
}
