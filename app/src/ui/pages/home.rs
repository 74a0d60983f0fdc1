//! `/`: the signed-in home.

use crate::api::auth::AccountView;
use crate::ui::components::guard::RequireAccount;
use leptos::prelude::*;
use leptos_meta::Title;

/// The signed-in home page: the account at a glance.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home"/>
        <RequireAccount page=home/>
    }
}

fn home(account: AccountView) -> AnyView {
    view! {
        <div class="page-head">
            <h1>"Welcome back"</h1>
            <p class="lede">"Signed in as " <strong data-testid="account-email">{account.email.clone()}</strong></p>
        </div>
        <section class="card" aria-labelledby="account-title">
            <h2 id="account-title">"Your account"</h2>
            <dl class="details">
                <div><dt>"Email"</dt><dd>{account.email}</dd></div>
                <div><dt>"Account ID"</dt><dd><code>{account.id}</code></dd></div>
                <div><dt>"Member since"</dt><dd>{account.member_since}</dd></div>
                <div><dt>"Role"</dt><dd>{if account.is_operator { "Operator" } else { "Customer" }}</dd></div>
            </dl>
        </section>
    }
    .into_any()
}
