//! The portal: rendered on the server; only its islands (`#[island(lazy)]`) hydrate in the browser.

pub mod components;
mod header;
mod live;
pub mod pages;
mod security;
pub mod session;

use header::{SiteFooter, SiteHeader};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use pages::{
    ActivityPage, HomePage, InvitationPage, KeyDetailPage, KeysPage, LegacyRedirect, MembersPage, NewKeyPage,
    NewOrganisationPage, NotFoundPage, OperatorActivityPage, OperatorOrganisationPage, OperatorOrganisationsPage,
    OperatorUsagePage, PortalLinkUnusablePage, ServiceTokensPage, SettingsPage, SignInPage, SignUpPage, UsagePage,
};
use pages::{ForgotPasswordPage, ResetPasswordPage, SignInCodePage, VerifyEmailPage};
use pages::{OperatorWebhooksPage, WebhooksPage};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    security::set_content_security_policy();
    let branded = leptos::prelude::use_context::<crate::api::site::Site>().is_some_and(|site| site.branded);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
                // After the portal's own style sheet, so that the provider's accent wins.
                {branded.then(|| view! { <link rel="stylesheet" href="/brand.css"/> })}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The portal's root component: header, routes and the session shared by every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let site = crate::api::site::provide_site();
    session::provide_session();

    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css"/>
        <Title formatter=move |title: String| {
            let product = &site.product_name;
            if title.is_empty() { product.clone() } else { format!("{title} · {product}") }
        }/>
        <Router>
            <SiteHeader/>
            <header::VerifyEmailBanner/>
            <main class="page" id="main">
                // Pages that depend on the session render whole on the server, so that a redirect to
                // sign-in is a real HTTP redirect rather than a flash of the wrong page.
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/keys") view=KeysPage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/keys/new") view=NewKeyPage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/keys/:id") view=KeyDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/usage") view=UsagePage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/activity") view=ActivityPage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/members") view=MembersPage ssr=SsrMode::Async/>
                    <Route path=path!("/o/:org/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/organisations/new") view=NewOrganisationPage ssr=SsrMode::Async/>
                    <Route path=path!("/invitations/:secret") view=InvitationPage ssr=SsrMode::Async/>
                    // The addresses from before organisations: the same page of the first organisation.
                    <Route path=path!("/keys/new") view=LegacyRedirect ssr=SsrMode::Async/>
                    <Route path=path!("/keys/:id") view=LegacyRedirect ssr=SsrMode::Async/>
                    <Route path=path!("/usage") view=LegacyRedirect ssr=SsrMode::Async/>
                    <Route path=path!("/activity") view=LegacyRedirect ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/service-tokens") view=ServiceTokensPage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/usage") view=OperatorUsagePage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/organisations") view=OperatorOrganisationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/organisations/:id") view=OperatorOrganisationPage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/activity") view=OperatorActivityPage ssr=SsrMode::Async/>
                    <Route path=path!("/operator/webhooks") view=OperatorWebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-up") view=SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in/two-factor") view=SignInCodePage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password/:secret") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email/:secret") view=VerifyEmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/unusable") view=PortalLinkUnusablePage/>
                </Routes>
            </main>
            <SiteFooter/>
            <HydrationMarker/>
        </Router>
    }
}

/// On every page, so that a page without forms is marked live too (see `live`).
#[island(lazy)]
fn HydrationMarker() -> impl IntoView {
    live::island_live();
}
