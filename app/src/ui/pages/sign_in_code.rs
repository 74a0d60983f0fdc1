//! `/sign-in/two-factor`: the second step of signing in, for accounts with two-factor sign-in on.

use crate::api::auth::SignInSecondFactor;
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::session::{next_and_switch_link, reload_on_success};
use leptos::prelude::*;
use leptos_meta::Title;

/// Asks for a code from the authenticator app, or a recovery code.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let (next, _) = next_and_switch_link("/sign-in");
    view! {
        <Title text="Two-factor sign-in"/>
        <section class="auth-card" aria-labelledby="code-title">
            <h1 id="code-title">"Two-factor sign-in"</h1>
            <p class="lede">"Enter the 6-digit code from your authenticator app."</p>
            <SecondFactorForm next/>
            <p class="auth-switch"><a href="/sign-in">"Start again"</a></p>
        </section>
    }
}

/// The code; on success, `next`.
#[island(lazy)]
fn SecondFactorForm(next: String) -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<SignInSecondFactor>::new();
    reload_on_success(move || action.value().get(), Clone::clone);
    let result = refusal(action.value());
    let pending = action.pending();
    view! {
        <ActionForm action attr:novalidate=true attr:class="form">
            <FormAlert result/>
            <input type="hidden" name="next" value=next/>
            <Field label="Code" name="code" kind="text" autocomplete="one-time-code" maxlength=20 hint="Lost your device? Enter one of your recovery codes instead." result/>
            <button type="submit" class="button button-primary button-block" disabled=pending>
                {move || if pending.get() { "Checking…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}
