//! `/o/:org/webhooks` (owners and admins) and `/operator/webhooks` (operators): the endpoints that receive
//! events, each with its delivery log, "send a test event", "resend", pause, rotate and remove; and a form
//! to register one. The signing secret is shown once, when an endpoint is registered or its secret rotated.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::keys::ShownKey;
use crate::api::webhooks::{
    AddWebhook, AttemptView, EVENT_CHOICES, EndpointView, ResendWebhook, RotateWebhookSecret, WebhookAction,
    WebhooksView, webhooks,
};
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::fresh::kept_fresh;
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::ShownOnce;
use crate::ui::components::org::{RequireMember, use_org};
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;

/// An organisation's Webhooks page.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let org = use_org();
    let list = Resource::new(move || org.get(), webhooks);
    view! {
        <Title text="Webhooks"/>
        <RequireMember page=move |_, org| {
            if org.can.manage_webhooks {
                webhooks_page(org.id, list)
            } else {
                view! {
                    <div class="page-head"><h1>"Webhooks"</h1></div>
                    <p class="alert alert-error" role="alert">{format!("You are a {} here; webhooks need the admin or owner role. Ask an owner of this organisation.", org.role)}</p>
                }.into_any()
            }
        }/>
    }
}

/// The operator's Webhooks page: endpoints for every organisation's events.
#[component]
pub fn OperatorWebhooksPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| webhooks(String::new()));
    view! {
        <Title text="Webhooks"/>
        <RequireAccount page=move |account: AccountView| {
            if account.is_operator { webhooks_page(String::new(), list) } else { view! { <NotFoundPage/> }.into_any() }
        }/>
    }
}

/// `org` is empty on the operator's page.
fn webhooks_page(org: String, list: Resource<Result<WebhooksView, ApiError>>) -> AnyView {
    let operator = org.is_empty();
    let product = crate::api::site::use_site().product_name;
    view! {
        <div class="page-head">
            <h1>"Webhooks"</h1>
            <p class="lede">
                {if operator {
                    "Your endpoints receive every organisation's key, organisation and member events."
                } else {
                    "Your endpoints receive this organisation's key and member events as they happen."
                }}
                " Each delivery is signed as " <a href="https://www.standardwebhooks.com/">"Standard Webhooks"</a>
                " specifies, so any of its libraries verifies it; failed deliveries are retried for about three days."
            </p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading endpoints…"</p> }>
            {move || { let (org, product) = (org.clone(), product.clone()); Suspend::new(async move {
                match list.await {
                    Ok(view) => view! { <Webhooks org view product/> }.into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

/// The endpoints with their actions and logs, and the form that adds one; fetched again after each change.
#[island(lazy)]
fn Webhooks(org: String, view: WebhooksView, product: String) -> impl IntoView {
    crate::ui::live::island_live();
    let add = ServerAction::<AddWebhook>::new();
    let act = ServerAction::<WebhookAction>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let resend = ServerAction::<ResendWebhook>::new();
    let versions = (add.version(), act.version(), rotate.version(), resend.version());
    let changed = move || versions.0.get() + versions.1.get() + versions.2.get() + versions.3.get();
    let list = {
        let org = org.clone();
        kept_fresh(view, changed, move || webhooks(org.clone()))
    };
    // Secrets live only in this page's memory.
    let (added, rotated) = (add.value(), rotate.value());
    on_cleanup(move || {
        added.try_update_untracked(|shown| *shown = None);
        rotated.try_update_untracked(|shown| *shown = None);
    });
    let operator = org.is_empty();
    let org = Signal::stored(org);
    let (add_value, act_value, rotate_value, resend_value) = (add.value(), act.value(), rotate.value(), resend.value());
    let add_result = Signal::derive(move || add_value.try_get().flatten().and_then(Result::err));
    let act_error = Signal::derive(move || act_value.try_get().flatten().and_then(Result::err));
    let rotate_error = Signal::derive(move || rotate_value.try_get().flatten().and_then(Result::err));
    let resend_error = Signal::derive(move || resend_value.try_get().flatten().and_then(Result::err));
    let said = move || {
        act_value
            .try_get()
            .flatten()
            .and_then(Result::ok)
            .or_else(|| resend_value.try_get().flatten().and_then(Result::ok))
    };
    let secret = move || -> Option<ShownKey> {
        add_value
            .try_get()
            .flatten()
            .and_then(Result::ok)
            .or_else(|| rotate_value.try_get().flatten().and_then(Result::ok))
    };
    let events_error = move || add_result.get().and_then(|err| err.message_for("event_types"));
    view! {
        {move || secret().map(|shown| view! { <ShownOnce key=shown noun="signing secret" product=product.clone()/> })}
        {move || said().map(|message| view! { <p class="alert alert-success" role="status">{message}</p> })}
        <FormAlert result=act_error/>
        <FormAlert result=rotate_error/>
        <FormAlert result=resend_error/>
        {move || {
            let view = list.get();
            if view.endpoints.is_empty() {
                view! {
                    <p class="empty">"No endpoints yet. Add one below to hear about key changes without polling."</p>
                }.into_any()
            } else {
                view.endpoints.into_iter().map(|endpoint| endpoint_card(org, endpoint, act, rotate, resend)).collect_view().into_any()
            }
        }}
        <section class="card" aria-labelledby="new-webhook-title">
            <h2 id="new-webhook-title">"Add an endpoint"</h2>
            <ActionForm action=add attr:class="form" attr:novalidate=true>
                <input type="hidden" name="org" value=move || org.get()/>
                <FormAlert result=add_result/>
                <Field label="URL" name="url" kind="url" maxlength=2048
                    hint=if operator { "Where deliveries are posted." } else { "Where deliveries are posted: an https URL on the public internet." }
                    result=add_result/>
                <Field label="Description (optional)" name="description" maxlength=200 hint="What it is for, such as \"billing\"." result=add_result/>
                <fieldset class="field scope-choices" class:field-invalid=move || events_error().is_some()>
                    <legend>"Events"</legend>
                    <p class="hint">"Tick none to receive every event, including types added later."</p>
                    {EVENT_CHOICES.iter().enumerate().map(|(i, (name, description))| {
                        let id = format!("event-{i}");
                        let label_for = id.clone();
                        view! {
                            <label class="scope" for=label_for>
                                <input type="checkbox" id=id name=format!("events[{i}]") value=*name/>
                                <span><code>{*name}</code><span class="scope-description">{*description}</span></span>
                            </label>
                        }
                    }).collect_view()}
                    <p class="field-error" aria-live="polite">{events_error}</p>
                </fieldset>
                <p class="actions"><button type="submit" class="button button-primary">"Add endpoint"</button></p>
            </ActionForm>
        </section>
    }
}

fn endpoint_card(
    org: Signal<String>,
    endpoint: EndpointView,
    act: ServerAction<WebhookAction>,
    rotate: ServerAction<RotateWebhookSecret>,
    resend: ServerAction<ResendWebhook>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let id = endpoint.id.clone();
    let events = if endpoint.events.is_empty() { "All events".to_owned() } else { endpoint.events.join(", ") };
    let state = if endpoint.enabled {
        match &endpoint.failing_since {
            Some(since) => view! { <span class="badge badge-warn">"Failing"</span> <span class="detail">{format!(" since {since}")}</span> }.into_any(),
            None => view! { <span class="badge badge-active">"Active"</span> }.into_any(),
        }
    } else {
        view! { <span class="badge badge-dead">"Paused"</span> <span class="detail">{endpoint.disabled_reason.clone().map(|why| format!(" {why}"))}</span> }.into_any()
    };
    let button = move |action: &'static str, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=act attr:class="inline-form">
                <input type="hidden" name="org" value=move || org.get()/>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class=format!("button button-small {class}")>{label}</button>
            </ActionForm>
        }
    };
    let pause = if endpoint.enabled {
        button("pause", "Pause", "button-quiet")
    } else {
        button("resume", "Resume", "button-quiet")
    };
    let test = button("test", "Send a test event", "");
    let delete = button.clone();
    let rotate_id = endpoint.id.clone();
    let log_id = endpoint.id.clone();
    let waiting = (endpoint.waiting > 0).then(|| format!("{} waiting", endpoint.waiting));
    view! {
        <section class="card webhook" data-testid="webhook-endpoint">
            <div class="webhook-head">
                <h2 class="webhook-url"><code>{endpoint.url.clone()}</code></h2>
                <p class="webhook-state">{state} {waiting.map(|text| view! { <span class="detail">{format!(" · {text}")}</span> })}</p>
            </div>
            {(!endpoint.description.is_empty()).then(|| view! { <p class="webhook-description">{endpoint.description.clone()}</p> })}
            <p class="webhook-events"><span class="detail">"Events: "</span>{events}</p>
            <div class="actions webhook-actions">
                {test}
                {pause}
                <ActionForm action=rotate attr:class="inline-form">
                    <input type="hidden" name="org" value=move || org.get()/>
                    <input type="hidden" name="id" value=rotate_id/>
                    <button type="submit" class="button button-small button-quiet">"Rotate secret"</button>
                </ActionForm>
                {move || if confirming.get() {
                    view! {
                        {delete("delete", "Yes, remove", "button-danger")}
                        <button type="button" class="button button-small button-quiet" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    }.into_any()
                } else {
                    view! { <button type="button" class="button button-small button-danger-outline" on:click=move |_| confirming.set(true)>"Remove"</button> }.into_any()
                }}
            </div>
            <h3>"Delivery log"</h3>
            {if endpoint.attempts.is_empty() {
                view! { <p class="empty">"No deliveries yet. Send a test event to try the endpoint."</p> }.into_any()
            } else {
                delivery_log(org, &log_id, endpoint.attempts, resend).into_any()
            }}
        </section>
    }
}

fn delivery_log(
    org: Signal<String>,
    endpoint_id: &str,
    attempts: Vec<AttemptView>,
    resend: ServerAction<ResendWebhook>,
) -> impl IntoView {
    let rows = attempts
        .into_iter()
        .map(|attempt| {
            let endpoint_id = endpoint_id.to_owned();
            let outcome = if attempt.succeeded {
                view! { <span class="badge badge-active">{attempt.result.clone()}</span> }.into_any()
            } else {
                view! { <span class="badge badge-dead">{attempt.result.clone()}</span> }.into_any()
            };
            view! {
                <tr>
                    <td data-label="When">{attempt.when}</td>
                    <td data-label="Event"><code>{attempt.event_type}</code><br/><span class="detail mono">{attempt.event_id.clone()}</span></td>
                    <td data-label="Attempt">{attempt.attempt}</td>
                    <td data-label="Result">{outcome}</td>
                    <td data-label="Time">{format!("{} ms", attempt.latency_ms)}</td>
                    <td data-label="Response"><code class="excerpt">{attempt.response_excerpt}</code></td>
                    <td data-label="">
                        <ActionForm action=resend attr:class="inline-form">
                            <input type="hidden" name="org" value=move || org.get()/>
                            <input type="hidden" name="id" value=endpoint_id/>
                            <input type="hidden" name="event_id" value=attempt.event_id/>
                            <button type="submit" class="button button-small button-quiet">"Resend"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="keys deliveries">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Attempt"</th>
                    <th scope="col">"Result"</th><th scope="col">"Time"</th><th scope="col">"Response"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
