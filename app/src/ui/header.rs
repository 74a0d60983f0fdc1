//! The header on every page: the product name, the organisation switcher and its pages, and the account
//! menu or the way in.

use crate::api::auth::{AccountView, SignOut};
use crate::api::organisations::{OrganisationView, my_organisations};
use crate::api::site::{Site, use_site};
use crate::ui::components::icons::KeyMark;
use crate::ui::components::org::org_path;
use crate::ui::session::use_session;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The site header.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let session = use_session();
    let mine = Resource::new(|| (), |_| my_organisations());
    let location = use_location();
    let site = use_site();
    let password_sign_in = site.password_sign_in;
    view! {
        <header class="site-header">
            <ReturnBar site=site.clone()/>
            <div class="site-header-inner">
                <a class="brand" href="/">
                    {match site.logo_url.clone() {
                        Some(src) => view! { <img class="brand-logo" src=src alt="" width="28" height="28"/> }.into_any(),
                        None => view! { <KeyMark/> }.into_any(),
                    }}
                    <span data-testid="product-name">{site.product_name.clone()}</span>
                </a>
                <nav class="site-nav" aria-label="Account">
                    <Transition fallback=|| ()>
                        {move || {
                            let path = location.pathname.get();
                            Suspend::new(async move {
                                match (session.account.await, mine.await) {
                                    (Ok(Some(account)), mine) => {
                                        let mine = mine.unwrap_or_default();
                                        let here = organisation_in(&path);
                                        let current = here
                                            .and_then(|id| mine.iter().find(|org| org.id == id))
                                            .or_else(|| mine.first())
                                            .cloned();
                                        let pages = PageLinks {
                                            organisation: current.as_ref().map(|org| (org.id.clone(), org.can.manage_webhooks)),
                                            operator: account.is_operator,
                                        };
                                        view! {
                                            {current.clone().map(|org| view! { <Switcher current=org mine/> })}
                                            <div class="page-links">{pages.render(false)}</div>
                                            <details class="nav-menu">
                                                <summary aria-label="Menu">
                                                    <span class="nav-menu-icon" aria-hidden="true"></span>
                                                </summary>
                                                <div class="account-menu-panel nav-menu-panel">{pages.render(true)}</div>
                                            </details>
                                            <AccountMenu account/>
                                        }.into_any()
                                    }
                                    _ => view! {
                                        <a class="nav-link" href="/sign-in">"Sign in"</a>
                                        {password_sign_in.then(|| view! {
                                            <a class="button button-small" href="/sign-up">"Sign up"</a>
                                        })}
                                    }.into_any(),
                                }
                            })
                        }}
                    </Transition>
                </nav>
            </div>
        </header>
    }
}

/// The pages of the organisation looked at and, for an operator, the operator's pages. On a desktop they
/// stand in the header (the operator's folded into a menu of their own); on a phone all of them fold into
/// one menu. Rendered once for each place: a style rule shows the one that fits.
#[derive(Debug, Clone)]
struct PageLinks {
    /// The organisation's id, and whether its webhooks page is shown.
    organisation: Option<(String, bool)>,
    /// Whether to list the operator's pages.
    operator: bool,
}

impl PageLinks {
    fn render(&self, in_menu: bool) -> impl IntoView {
        let organisation = self.organisation.clone().map(|(id, webhooks)| {
            let link = move |page: &str| org_path(&id, page);
            view! {
                <a class="nav-link" href=link("keys")>"Keys"</a>
                <a class="nav-link" href=link("usage")>"Usage"</a>
                <a class="nav-link" href=link("activity")>"Activity"</a>
                <a class="nav-link" href=link("members")>"Members"</a>
                {webhooks.then(|| view! { <a class="nav-link" href=link("webhooks")>"Webhooks"</a> })}
            }
        });
        let operator_links = || {
            view! {
                <a class="nav-link" href="/operator/organisations">"Organisations"</a>
                <a class="nav-link" href="/operator/usage">"API usage"</a>
                <a class="nav-link" href="/operator/service-tokens">"Service tokens"</a>
                <a class="nav-link" href="/operator/webhooks">"All webhooks"</a>
            }
        };
        let operator = self.operator.then(|| {
            if in_menu {
                view! {
                    <p class="account-menu-label nav-menu-label">"Operator"</p>
                    {operator_links()}
                }
                .into_any()
            } else {
                view! {
                    <details class="operator-menu">
                        <summary class="nav-link">"Operator"<span class="chevron" aria-hidden="true"></span></summary>
                        <div class="account-menu-panel operator-menu-panel">{operator_links()}</div>
                    </details>
                }
                .into_any()
            }
        });
        view! { {organisation} {operator} }
    }
}

/// For a person the provider's app sent: a slim bar above the header with the way back to the app.
#[component]
fn ReturnBar(site: Site) -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let site = site.clone();
                Suspend::new(async move {
                    let back_to = session.account.await.ok().flatten().and_then(|account| account.back_to);
                    back_to.map(|href| view! {
                        <div class="return-bar">
                            <div class="return-bar-inner">
                                <a class="back-link" href=href.clone() rel="external">{site.back_to(&href)}</a>
                            </div>
                        </div>
                    })
                })
            }}
        </Transition>
    }
}

/// The footer: the provider's support and documentation links, shown once the provider has set any.
#[component]
pub fn SiteFooter() -> impl IntoView {
    let Site { product_name, support_url, docs_url, branded, .. } = use_site();
    (branded || support_url.is_some() || docs_url.is_some()).then(|| {
        view! {
            <footer class="site-footer">
                <div class="site-footer-inner">
                    <span>{format!("{product_name} API keys")}</span>
                    <nav class="footer-links" aria-label="Help">
                        {docs_url.map(|href| view! { <a href=href rel="external">"Documentation"</a> })}
                        {support_url.map(|href| view! { <a href=href rel="external">"Support"</a> })}
                    </nav>
                </div>
            </footer>
        }
    })
}

/// The organisation id in a path under `/o/`.
fn organisation_in(path: &str) -> Option<&str> {
    path.strip_prefix("/o/")?.split('/').next().filter(|id| !id.is_empty())
}

/// The organisation switcher: the one looked at, and every other one the person is in.
#[component]
fn Switcher(current: OrganisationView, mine: Vec<OrganisationView>) -> impl IntoView {
    view! {
        <details class="org-switcher">
            <summary aria-label="Switch organisation">
                <span class="org-switcher-name" data-testid="current-organisation">{current.name.clone()}</span>
                <span class="chevron" aria-hidden="true"></span>
            </summary>
            <div class="account-menu-panel org-switcher-panel">
                <p class="account-menu-label">"Organisations"</p>
                <ul class="org-list">
                    {mine.into_iter().map(|org| {
                        let here = org.id == current.id;
                        view! {
                            <li>
                                <a href=org_path(&org.id, "keys") class="org-link" class:current=here aria-current=here.then_some("page")>
                                    <span>{org.name}</span>
                                    <span class="org-role">{org.role}</span>
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <a class="menu-button menu-link" href="/organisations/new">"New organisation"</a>
            </div>
        </details>
    }
}

/// The signed-in account's menu: who is signed in, and the way out.
#[component]
fn AccountMenu(account: AccountView) -> impl IntoView {
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
                <SignOutButton/>
            </div>
        </details>
    }
}

/// "Sign out", then the sign-in page. A plain form post, answered with a redirect: no bundle needed.
#[component]
fn SignOutButton() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=sign_out>
            <button type="submit" class="menu-button">"Sign out"</button>
        </ActionForm>
        {move || sign_out.value().get().and_then(Result::err).map(|err| view! {
            <p class="field-error" role="alert">{err.to_string()}</p>
        })}
    }
}

/// For a password account whose address is not verified yet: says so and offers to send the link again.
#[component]
pub fn VerifyEmailBanner() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let account = session.account.await.ok().flatten()?;
                (account.has_password && !account.email_verified).then(|| view! {
                    <div class="verify-banner" data-testid="verify-banner">
                        <p>
                            "Verify your email address: we sent a link to "
                            <strong>{account.email.clone()}</strong>
                            "."
                        </p>
                        <ResendVerificationButton/>
                    </div>
                })
            })}
        </Suspense>
    }
}

/// "Send again", and whether it was sent. Not an island: the browser posts the form itself and comes back
/// to this page, with `verification=sent` in the address or the refusal.
#[component]
fn ResendVerificationButton() -> impl IntoView {
    let resend = ServerAction::<crate::api::recovery::ResendVerification>::new();
    let location = use_location();
    let mut query = location.query.get_untracked();
    let sent = query.get_str("verification") == Some("sent");
    // Where to come back to: this page, without what an earlier post added to its address.
    for added in ["verification", crate::api::outcome::DONE, "ended", "tokens", "confirm", "rotate", "__err", "__path"]
    {
        query.remove(added);
    }
    let back = format!("{}{}", location.pathname.get_untracked(), query.to_query_string());
    let status = match resend.value().get_untracked() {
        Some(Err(err)) => Some(("banner-status banner-error", err.to_string())),
        _ if sent => Some(("banner-status", "Sent: check your inbox.".to_owned())),
        _ => None,
    };
    view! {
        <ActionForm action=resend attr:class="inline-form">
            <input type="hidden" name="back" value=back/>
            <button type="submit" class="button button-small">"Send again"</button>
        </ActionForm>
        {status.map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
    }
}
