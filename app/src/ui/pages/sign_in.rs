//! `/sign-in`.

use crate::api::auth::SignIn;
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::guard::RedirectIfSignedIn;
use crate::ui::session::{next_and_switch_link, reload_on_success};
use leptos::prelude::*;
use leptos_meta::Title;

/// The sign-in form. `?next=/path` says where to go afterwards.
#[component]
pub fn SignInPage() -> impl IntoView {
    let (next, sign_up_href) = next_and_switch_link("/sign-up");
    let action = ServerAction::<SignIn>::new();
    reload_on_success(move || action.value().get(), Clone::clone);
    let result = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();

    view! {
        <Title text="Sign in"/>
        <RedirectIfSignedIn/>
        <section class="auth-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in to Latchkey"</h1>
            <p class="lede">"Manage your API keys, their scopes and their usage."</p>
            <ActionForm action attr:novalidate=true attr:class="form">
                <FormAlert result/>
                <input type="hidden" name="next" value=next/>
                <Field label="Email" name="email" kind="email" autocomplete="username" maxlength=254 result/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result/>
                <button type="submit" class="button button-primary button-block" disabled=pending>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="auth-switch">"New to Latchkey? " <a href=sign_up_href>"Create an account"</a></p>
        </section>
    }
}
