//! `/forgot-password`: asks for a reset link. The answer is the same whether or not the address has an
//! account.

use crate::api::recovery::{RESET_SENT, RequestPasswordReset};
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::components::guard::RedirectIfSignedIn;
use leptos::prelude::*;
use leptos_meta::Title;

/// The "Forgot password?" page.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! {
        <Title text="Reset your password"/>
        <RedirectIfSignedIn/>
        <section class="auth-card" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Reset your password"</h1>
            <ForgotPasswordForm/>
            <p class="auth-switch"><a href="/sign-in">"Back to sign in"</a></p>
        </section>
    }
}

/// The address, then word that a link is on its way.
#[island(lazy)]
fn ForgotPasswordForm() -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<RequestPasswordReset>::new();
    let value = action.value();
    let result = refusal(value);
    let sent = move || matches!(value.get(), Some(Ok(())));
    let pending = action.pending();
    view! {
        <Show
            when=sent
            fallback=move || view! {
                <p class="lede">"Enter the address you sign in with. We will email you a link to choose a new password."</p>
                <ActionForm action attr:novalidate=true attr:class="form">
                    <FormAlert result/>
                    <Field label="Email" name="email" kind="email" autocomplete="username" maxlength=254 result/>
                    <button type="submit" class="button button-primary button-block" disabled=pending>
                        {move || if pending.get() { "Sending…" } else { "Send reset link" }}
                    </button>
                </ActionForm>
            }
        >
            <p class="alert alert-success" role="status" data-testid="reset-sent">{RESET_SENT}</p>
            <p class="muted">"No message after a few minutes? Check your spam folder, or make sure you typed the address you signed up with."</p>
        </Show>
    }
}
