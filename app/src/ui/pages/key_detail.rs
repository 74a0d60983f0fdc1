//! `/o/:org/keys/:id`: a key's settings, access controls, roll and revoke, and its usage.
//!
//! Rendered on the server. Settings, access controls and revoking post without the bundle and come back
//! here saying what they did (`?done=`, see `api::outcome`); "Revoke key" asks on the page itself
//! (`?confirm=revoke`). Only rolling, which shows the new key once, is an island.

use crate::api::ApiError;
use crate::api::keys::{
    GRACE_CHOICES, KeyStatusView, KeyView, RevokeKey, RollKey, ScopeView, UpdateKey, UpdateKeyControls, get_key,
    scope_catalogue,
};
use crate::api::usage::{KeyUsageView, key_usage};
use crate::ui::components::chart::UsageChart;
use crate::ui::components::form::{Asked, Field, FormAlert, refusal};
use crate::ui::components::keys::{ExpiryChoice, ScopeChoices, ShownOnce, StatusBadge};
use crate::ui::components::org::{RequireMember, org_path, use_org};
use crate::ui::components::usage::{ExportForm, PeriodTabs};
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The key detail page.
#[component]
pub fn KeyDetailPage() -> impl IntoView {
    let params = use_params_map();
    let org = use_org();
    let id = move || params.read().get("id").unwrap_or_default();
    let key = Resource::new(move || (org.get(), id()), |(org, id)| get_key(org, id));
    let scopes = Resource::new(|| (), |_| scope_catalogue());
    // Read once: the period links and the forms load the page anew.
    let query = use_query_map().get_untracked();
    let period = query.get("period");
    let asked = Asked::read();
    let usage =
        Resource::new(move || (org.get(), id(), period.clone()), |(org, id, period)| key_usage(org, id, period));
    let made = KeyPage { key, scopes, usage };
    view! {
        <Title text="Key"/>
        <RequireMember page=move |_, org| key_page(org.id, org.disabled, made, asked.clone())/>
    }
}

/// What the page makes before it knows who is signed in (see `RequireAccount`).
#[derive(Clone, Copy)]
struct KeyPage {
    key: Resource<Result<KeyView, ApiError>>,
    scopes: Resource<Result<Vec<ScopeView>, ApiError>>,
    usage: Resource<Result<KeyUsageView, ApiError>>,
}

fn key_page(org: String, disabled: bool, made: KeyPage, asked: Asked) -> AnyView {
    let KeyPage { key, scopes, usage } = made;
    let product = crate::api::site::use_site().product_name;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading key…"</p> }>
            {move || { let (org, product, asked) = (org.clone(), product.clone(), asked.clone()); Suspend::new(async move {
                match (key.await, scopes.await) {
                    (Ok(key), Ok(catalogue)) => {
                        let (last_used, last_used_ip, id) = (key.last_used.clone(), key.last_used_ip.clone(), key.id.clone());
                        let usage = view! { <KeyUsage org=org.clone() id usage last_used last_used_ip/> };
                        view! {
                            <div class="key-page">
                                {key_head(&org, disabled, &key, &asked)}
                                {usage}
                                {key_controls(&org, key, catalogue, product, &asked)}
                            </div>
                        }.into_any()
                    }
                    (Err(ApiError::NotFound), _) => view! { <NotFoundPage/> }.into_any(),
                    (Err(err), _) | (_, Err(err)) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

/// The key's name, badge and notes.
fn key_head(org: &str, disabled: bool, key: &KeyView, asked: &Asked) -> AnyView {
    let keys_path = org_path(org, "keys");
    let revoked_now = asked.did("revoked");
    let tokens_ended = asked.count("tokens").unwrap_or(0);
    view! {
        <div class="page-head" id="key">
            <p class="breadcrumb"><a href=keys_path>"API keys"</a></p>
            <h1 class="key-title">{key.name.clone()} " " <StatusBadge status=key.status.clone()/></h1>
            <p class="lede">
                <code>{key.hint.clone()}</code> " · created " {key.created.clone()} " by " {key.created_by.clone()}
                // A revoked key has none, and its badge says so already.
                {key.live_tokens.filter(|_| key.status.is_live()).map(|live| view! {
                    " · "
                    <span data-testid="live-tokens" title="Short-lived JWTs bought with this key (POST /v1/tokens) that work now. They end when the key is revoked.">
                        {tokens_words(live)}
                    </span>
                })}
            </p>
        </div>
        {revoked_now.then(|| view! {
            <p class="alert alert-success key-note" role="status" data-testid="revoked-note">
                {if tokens_ended == 0 {
                    "Key revoked. It no longer works anywhere.".to_owned()
                } else {
                    format!("Key revoked. It also ended {} bought with it.", tokens_words(tokens_ended))
                }}
            </p>
        })}
        {key.leak.clone().map(|leak| {
            let revoked = matches!(key.status, KeyStatusView::Revoked);
            let safe_url = leak.url.starts_with("https://") || leak.url.starts_with("http://");
            view! {
                <div class="alert alert-error leak-banner" role="alert" data-testid="leak-banner">
                    <strong>"This key was found in public"</strong>
                    {if leak.url.is_empty() {
                        view! { " on " {leak.when.clone()} }.into_any()
                    } else if safe_url {
                        view! { " at " <a href=leak.url.clone() rel="noopener noreferrer nofollow" target="_blank">{leak.url.clone()}</a> " on " {leak.when.clone()} }.into_any()
                    } else {
                        view! { " at " <code>{leak.url.clone()}</code> " on " {leak.when.clone()} }.into_any()
                    }}
                    {format!(" (reported by {}). ", leak.source)}
                    {if revoked {
                        "It no longer works. Create a new key and replace it wherever this one was used."
                    } else {
                        "Anyone who saw it can use it: roll or revoke it now."
                    }}
                </div>
            }
        })}
        {(!key.can_change && !disabled).then(|| view! {
            <p class="alert alert-note" data-testid="read-only">
                "You can see this key and its usage, but your role does not let you change it: developers change the keys they created, viewers none. An admin or owner of this organisation can."
            </p>
        })}
    }
    .into_any()
}

/// The forms that change the key: settings, access controls, roll and revoke, and its metadata.
fn key_controls(org: &str, key: KeyView, catalogue: Vec<ScopeView>, product: String, asked: &Asked) -> AnyView {
    // Controls the member's role cannot use are not shown (and the server refuses them anyway).
    let editable = key.can_change
        && matches!(key.status, KeyStatusView::Active | KeyStatusView::ExpiresSoon | KeyStatusView::Expired);
    let live = key.can_change && key.status.is_live() && !matches!(key.status, KeyStatusView::Rolled { .. });
    let revocable = key.can_change && !matches!(key.status, KeyStatusView::Revoked);
    let page = org_path(org, &format!("keys/{}", key.id));
    let settings = editable.then(|| {
        view! { <KeySettings org=org.to_owned() key=key.clone() catalogue saved=asked.did("settings")/> }
    });
    let access_controls = editable.then(|| {
        view! { <AccessControls org=org.to_owned() key=key.clone() saved=asked.did("controls")/> }
    });
    let roll = live.then(|| view! { <RollForm org=org.to_owned() id=key.id.clone() product/> });
    let revoke = revocable.then(|| {
        view! { <RevokeCard org=org.to_owned() id=key.id.clone() page=page.clone() confirming=asked.confirming("revoke")/> }
    });
    view! {
        {settings}
        {access_controls}
        {key.meta.clone().map(|meta| view! {
            <section class="card" aria-labelledby="meta-title">
                <h2 id="meta-title">"Metadata"</h2>
                <p class="field-hint">"Set by the provider's services and returned to them when this key is verified."</p>
                <pre class="meta">{meta}</pre>
            </section>
        })}
        {roll}
        {revoke}
    }
    .into_any()
}

/// The key's name, scopes and expiry. The browser checks the name before it posts.
#[component]
fn KeySettings(org: String, key: KeyView, catalogue: Vec<ScopeView>, saved: bool) -> impl IntoView {
    let update = ServerAction::<UpdateKey>::new();
    let value = update.value();
    let result = refusal(value);
    view! {
        <section class="card key-settings" aria-labelledby="settings-title" id="settings">
            <h2 id="settings-title">"Settings"</h2>
            <ActionForm action=update attr:class="form">
                <FormAlert result/>
                <input type="hidden" name="org" value=org/>
                <input type="hidden" name="id" value=key.id.clone()/>
                <Field label="Name" name="name" maxlength=64 required=true value=key.name.clone() result/>
                <ScopeChoices scopes=catalogue checked=key.scopes.clone() result/>
                <ExpiryChoice keep=key.expires.clone() result/>
                <p class="actions">
                    <button type="submit" class="button button-primary">"Save changes"</button>
                    {saved.then(|| view! { <span class="saved" role="status">"Saved"</span> })}
                </p>
            </ActionForm>
        </section>
    }
}

/// Rolling, and the new key shown once: the page's only island. The rest of the page is about the old
/// key; once rolled, a style rule hides its badge and the forms that no longer apply to it.
#[island(lazy)]
fn RollForm(org: String, id: String, product: String) -> impl IntoView {
    crate::ui::live::island_live();
    let roll = ServerAction::<RollKey>::new();
    let value = roll.value();
    let result = refusal(value);
    // Reached through the signal, not the action: when the page goes away the action may be disposed first,
    // and then its value (and the secret in it) is already gone.
    on_cleanup(move || {
        // Untracked: a notification now would run the page's effects while it is being disposed.
        value.try_update_untracked(|shown| *shown = None);
    });
    let rolled = move || value.try_get().flatten().and_then(Result::ok);
    view! {
        <section class="card" aria-labelledby="roll-title" id="roll">
            <h2 id="roll-title">"Roll"</h2>
            {move || match rolled() {
                Some(shown) => view! {
                    <p class="alert alert-success rolled-note" role="status" data-testid="rolled-note">
                        "This key is now " {shown.replaces.map(|status| view! { <StatusBadge status/> })}
                        ". Callers switch to the new key below."
                    </p>
                    <ShownOnce key=shown.plaintext product=product.clone()/>
                    <p><a class="button" rel="external" href=org_path(&org, &format!("keys/{}", shown.key.id))>"Open the new key"</a></p>
                }
                .into_any(),
                None => {
                    let (org, id) = (org.clone(), id.clone());
                    view! {
                        <p>"Replace this key with a new one that has the same settings. The old key keeps working for the grace period you choose, so callers can switch without downtime."</p>
                        <ActionForm action=roll attr:class="form form-inline">
                            <FormAlert result every=true/>
                            <input type="hidden" name="org" value=org/>
                            <input type="hidden" name="id" value=id/>
                            <div class="field">
                                <label for="field-grace">"Old key keeps working for"</label>
                                <select id="field-grace" name="grace">
                                    {GRACE_CHOICES.iter().map(|(value, label)| view! { <option value=*value selected=*value == "24h">{*label}</option> }).collect_view()}
                                </select>
                            </div>
                            <button type="submit" class="button">"Roll key"</button>
                        </ActionForm>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

/// Revoking: "Revoke key" asks on the page (`?confirm=revoke`), "Yes, revoke" posts.
#[component]
fn RevokeCard(org: String, id: String, page: String, confirming: bool) -> impl IntoView {
    let revoke = ServerAction::<RevokeKey>::new();
    let value = revoke.value();
    let result = refusal(value);
    let ask = if confirming {
        view! {
            <ActionForm action=revoke attr:class="confirm">
                <input type="hidden" name="org" value=org/>
                <input type="hidden" name="id" value=id/>
                <span>"Revoke this key now?"</span>
                <button type="submit" class="button button-danger">"Yes, revoke"</button>
                <a class="button" href=format!("{page}#revoke")>"Cancel"</a>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <form method="get" action=format!("{page}#revoke") class="inline-form">
                <input type="hidden" name="confirm" value="revoke"/>
                <button type="submit" class="button button-danger-outline">"Revoke key"</button>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="card danger-zone" aria-labelledby="revoke-title" id="revoke">
            <h2 id="revoke-title">"Revoke"</h2>
            <p>"Revoking stops the key at once, everywhere, and ends the access tokens bought with it. It cannot be undone."</p>
            <FormAlert result every=true/>
            {ask}
        </section>
    }
}

/// "1 live access token", "3 live access tokens".
fn tokens_words(count: u64) -> String {
    format!("{count} live access token{}", if count == 1 { "" } else { "s" })
}

/// The key's verifications over the chosen period, its last use, and the export.
#[component]
fn KeyUsage(
    org: String,
    id: String,
    usage: Resource<Result<crate::api::usage::KeyUsageView, ApiError>>,
    last_used: String,
    last_used_ip: Option<String>,
) -> impl IntoView {
    let base = org_path(&org, &format!("keys/{id}"));
    let key_id = id;
    view! {
        <section class="card usage-card" aria-labelledby="usage-title">
            <div class="card-head">
                <h2 id="usage-title">"Usage"</h2>
                <p class="muted" data-testid="last-used">
                    "Last used " <strong>{last_used}</strong>
                    {last_used_ip.map(|ip| view! { " from " <code>{ip}</code> })}
                </p>
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
                {
                    move || {
                        let (base, key_id, org) = (base.clone(), key_id.clone(), org.clone());
                        Suspend::new(async move {
                            match usage.await {
                                Ok(usage) => {
                                    view! {
                                        <PeriodTabs base=base current=usage.period.clone()/>
                                        <UsageChart chart=usage.chart/>
                                        <details class="export">
                                            <summary>"Export this key's usage as CSV"</summary>
                                            <ExportForm org key=key_id defaults=usage.export/>
                                        </details>
                                    }
                                    .into_any()
                                }
                                Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                            }
                        })
                    }
                }
            </Suspense>
        </section>
    }
}

/// Where the key may be used from and how often.
#[component]
fn AccessControls(org: String, key: KeyView, saved: bool) -> impl IntoView {
    let controls = ServerAction::<UpdateKeyControls>::new();
    let controls_value = controls.value();
    let result = refusal(controls_value);
    let (limit, window) = key
        .rate_limit
        .map_or((String::new(), String::new()), |rate| (rate.limit.to_string(), rate.window_seconds.to_string()));
    // After a refusal the fields hold what was typed, not the saved controls. Read once: the page is
    // rendered anew after each post, and a textarea takes text, not a live value.
    let refused = result.get_untracked();
    let shown =
        |field: &str, saved: String| refused.as_ref().and_then(|err| err.given(field)).map_or(saved, str::to_owned);
    let allowlist = shown("ip_allowlist", key.ip_allowlist.join("\n"));
    let limit = shown("rate_limit", limit);
    let window = shown("rate_window", window);
    let allowlist_error = move || result.get().and_then(|err| err.message_for("ip_allowlist"));
    let rate_error = move || {
        result.get().and_then(|err| {
            err.message_for("rate_limit")
                .or_else(|| err.message_for("rate_window"))
                .or_else(|| err.message_for("ratelimit"))
        })
    };
    view! {
        <section class="card key-controls" aria-labelledby="controls-title" id="controls">
            <h2 id="controls-title">"Access controls"</h2>
            <ActionForm action=controls attr:class="form">
                <FormAlert result/>
                <input type="hidden" name="org" value=org/>
                <input type="hidden" name="id" value=key.id.clone()/>
                <div class="field" class:field-invalid=move || allowlist_error().is_some()>
                    <label for="field-ip_allowlist">"Allowed IP addresses"</label>
                    <textarea id="field-ip_allowlist" name="ip_allowlist" rows="3" spellcheck="false"
                        placeholder="203.0.113.0/24\n2001:db8::/32" aria-describedby="field-ip_allowlist-hint field-ip_allowlist-error">{allowlist}</textarea>
                    <p class="field-hint" id="field-ip_allowlist-hint">"One address or network (CIDR) per line, IPv4 or IPv6. Leave empty to allow any address. Services must pass the caller's address when they verify a key with an allowlist."</p>
                    <p class="field-error" id="field-ip_allowlist-error" aria-live="polite">{allowlist_error}</p>
                </div>
                <fieldset class="field rate-limit" class:field-invalid=move || rate_error().is_some()>
                    <legend>"Rate limit"</legend>
                    <div class="inline-inputs">
                        <input id="field-rate_limit" name="rate_limit" type="number" min="1" max="1000000" inputmode="numeric"
                            value=limit aria-label="Requests allowed" placeholder="100"/>
                        <label for="field-rate_window">"requests per"</label>
                        <input id="field-rate_window" name="rate_window" type="number" min="1" max="86400" inputmode="numeric"
                            value=window aria-label="Window in seconds" placeholder="60"/>
                        <span>"seconds"</span>
                    </div>
                    <p class="field-hint">"Leave both empty for no limit. Verifications over the limit answer RATE_LIMITED; refused verifications do not count."</p>
                    <p class="field-error" aria-live="polite">{rate_error}</p>
                </fieldset>
                <p class="actions">
                    <button type="submit" class="button button-primary">"Save access controls"</button>
                    {saved.then(|| view! { <span class="saved" role="status">"Saved"</span> })}
                </p>
            </ActionForm>
        </section>
    }
}
