//! The header on every page: the product name, and the account menu or the way in.

use crate::api::auth::{AccountView, SignOut};
use crate::ui::components::icons::KeyMark;
use crate::ui::session::{reload_on_success, use_session};
use leptos::prelude::*;

/// The site header.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let session = use_session();
    view! {
        <header class="site-header">
            <div class="site-header-inner">
                <a class="brand" href="/">
                    <KeyMark/>
                    <span>"Latchkey"</span>
                </a>
                <nav class="site-nav" aria-label="Account">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match session.account.await {
                                Ok(Some(account)) => view! {
                                    <a class="nav-link" href="/">"Keys"</a>
                                    <a class="nav-link" href="/usage">"Usage"</a>
                                    <a class="nav-link" href="/activity">"Activity"</a>
                                    {account.is_operator.then(|| view! {
                                        <a class="nav-link" href="/operator/usage">"API usage"</a>
                                        <a class="nav-link" href="/operator/service-tokens">"Service tokens"</a>
                                    })}
                                    <AccountMenu account/>
                                }.into_any(),
                                _ => view! {
                                    <a class="nav-link" href="/sign-in">"Sign in"</a>
                                    <a class="button button-small" href="/sign-up">"Sign up"</a>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </nav>
            </div>
        </header>
    }
}

/// The signed-in account's menu: who is signed in, and the way out.
#[component]
fn AccountMenu(account: AccountView) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    reload_on_success(move || sign_out.value().get(), |_| "/sign-in".to_owned());
    let initial = account.email.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    view! {
        <details class="account-menu">
            <summary aria-label="Account menu">
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="account-menu-email">{account.email.clone()}</span>
                <span class="chevron" aria-hidden="true"></span>
            </summary>
            <div class="account-menu-panel">
                <p class="account-menu-label">"Signed in as"</p>
                <p class="account-menu-address">{account.email}</p>
                <a class="menu-button menu-link" href="/settings">"Account settings"</a>
                <ActionForm action=sign_out>
                    <button type="submit" class="menu-button">"Sign out"</button>
                </ActionForm>
                {move || sign_out.value().get().and_then(Result::err).map(|err| view! {
                    <p class="field-error" role="alert">{err.to_string()}</p>
                })}
            </div>
        </details>
    }
}
