//! `/o/:org/webhooks` (owners and admins) and `/operator/webhooks` (operators): the endpoints that receive
//! events, each with its delivery log, "send a test event", "resend", pause, rotate and remove; and a form
//! to register one. The signing secret is shown once, when an endpoint is registered or its secret rotated.
//!
//! Rendered on the server: test, resend, pause, resume and remove post without the bundle and come back
//! here saying what they did (`?done=`, see `api::outcome`); "Remove" asks on the page itself
//! (`?confirm={id}`). Registering an endpoint and rotating a secret, which show the secret once, are islands.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::webhooks::{
    AddWebhook, AttemptView, EVENT_CHOICES, EndpointView, ResendWebhook, RotateWebhookSecret, WebhookAction,
    WebhooksView, webhooks,
};
use crate::ui::components::form::{Asked, Field, FormAlert, refusal};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::ShownOnce;
use crate::ui::components::org::{RequireMember, org_path, use_org};
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;

/// An organisation's Webhooks page.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let org = use_org();
    let list = Resource::new(move || org.get(), webhooks);
    let asked = Asked::read();
    view! {
        <Title text="Webhooks"/>
        <RequireMember page=move |_, org| {
            if org.can.manage_webhooks {
                webhooks_page(org.id, list, asked.clone())
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
    let asked = Asked::read();
    view! {
        <Title text="Webhooks"/>
        <RequireAccount page=move |account: AccountView| {
            if account.is_operator { webhooks_page(String::new(), list, asked.clone()) } else { view! { <NotFoundPage/> }.into_any() }
        }/>
    }
}

/// What the page says about the last form posted.
fn said(asked: &Asked) -> Option<&'static str> {
    Some(match asked.done()? {
        "test" => "Test event queued; it shows in the log below within seconds.",
        "pause" => "Paused: events wait until you resume it.",
        "resume" => "Resumed: waiting events go out now.",
        "removed" => "Endpoint removed; it receives nothing more.",
        "resent" => "Event queued again, with the same webhook-id.",
        "added" => "Endpoint added: it receives events from now on.",
        "rotated" => {
            "Signing secret rotated. The old secret signs deliveries too for a day, so that receivers can switch."
        }
        _ => return None,
    })
}

/// `org` is empty on the operator's page.
fn webhooks_page(org: String, list: Resource<Result<WebhooksView, ApiError>>, asked: Asked) -> AnyView {
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
            {move || { let (org, product, asked) = (org.clone(), product.clone(), asked.clone()); Suspend::new(async move {
                match list.await {
                    Ok(view) => endpoints(org, view, product, asked).into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

/// The page's address: the organisation's, or the operator's for `org` empty.
fn page_of(org: &str) -> String {
    if org.is_empty() { "/operator/webhooks".to_owned() } else { org_path(org, "webhooks") }
}

/// The endpoints with their actions and logs, and the form that adds one.
fn endpoints(org: String, view: WebhooksView, product: String, asked: Asked) -> impl IntoView {
    let (act, resend) = (ServerAction::<WebhookAction>::new(), ServerAction::<ResendWebhook>::new());
    let (act_value, resend_value) = (act.value(), resend.value());
    let act_error = refusal(act_value);
    let resend_error = refusal(resend_value);
    let page = page_of(&org);
    let cards = if view.endpoints.is_empty() {
        view! { <p class="empty">"No endpoints yet. Add one below to hear about key changes without polling."</p> }
            .into_any()
    } else {
        view.endpoints
            .into_iter()
            .map(|endpoint| {
                let asking = Asking { remove: asked.confirming(&endpoint.id), rotate: asked.rotating(&endpoint.id) };
                endpoint_card(&org, &page, endpoint, asking, (act, resend), product.clone())
            })
            .collect_view()
            .into_any()
    };
    view! {
        {said(&asked).map(|message| view! { <p class="alert alert-success" role="status">{message}</p> })}
        <FormAlert result=act_error every=true/>
        <FormAlert result=resend_error every=true/>
        <div id="endpoints">{cards}</div>
        <SecretForm org=org.clone() product rotating=None>
            <EventChoices/>
        </SecretForm>
    }
}

/// What an endpoint's card asks before it acts.
#[derive(Clone, Copy)]
struct Asking {
    remove: bool,
    rotate: bool,
}

/// What shows a signing secret once: registering an endpoint or, in an endpoint's card once "Rotate secret"
/// asked (`rotating`), giving it a new secret. One island for both, so that a page with endpoints loads no
/// more code than one without. The event choices are `children`, rendered by the server, so that the
/// island's code is only the form's own. "Done" loads the page again.
#[island(lazy)]
fn SecretForm(org: String, product: String, rotating: Option<String>, children: Children) -> impl IntoView {
    crate::ui::live::island_live();
    let add = ServerAction::<AddWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let (added, rotated) = (add.value(), rotate.value());
    let result = Signal::derive(move || {
        added.try_get().flatten().and_then(Result::err).or_else(|| rotated.try_get().flatten().and_then(Result::err))
    });
    let shown = move || {
        added.try_get().flatten().and_then(Result::ok).or_else(|| rotated.try_get().flatten().and_then(Result::ok))
    };
    // Secrets live only in this page's memory; reached through the signals, which outlive the actions.
    on_cleanup(move || {
        added.try_update_untracked(|shown| *shown = None);
        rotated.try_update_untracked(|shown| *shown = None);
    });
    let page = page_of(&org);
    // Back to the page, which then lists the change and says what it was.
    let done = match &rotating {
        Some(id) => format!("{page}?done=rotated#webhook-{id}"),
        None => format!("{page}?done=added#endpoints"),
    };
    let form = match rotating {
        Some(id) => view! {
            <ActionForm action=rotate attr:class="confirm rotate-confirm">
                <FormAlert result every=true/>
                <input type="hidden" name="org" value=org/>
                <input type="hidden" name="id" value=id.clone()/>
                <span>"Give this endpoint a new signing secret? The old one keeps signing for a day."</span>
                <button type="submit" class="button button-small button-primary">"Yes, rotate"</button>
                <a class="button button-small button-quiet" href=format!("{page}#webhook-{id}")>"Cancel"</a>
            </ActionForm>
        }
        .into_any(),
        None => {
            let operator = org.is_empty();
            let events_error = move || result.get().and_then(|err| err.message_for("event_types"));
            view! {
                <section class="card" aria-labelledby="new-webhook-title">
                    <h2 id="new-webhook-title">"Add an endpoint"</h2>
                    <ActionForm action=add attr:class="form" attr:novalidate=true>
                        <input type="hidden" name="org" value=org/>
                        <FormAlert result/>
                        <Field label="URL" name="url" kind="url" maxlength=2048
                            hint=if operator { "Where deliveries are posted." } else { "Where deliveries are posted: an https URL on the public internet." }
                            result/>
                        <Field label="Description (optional)" name="description" maxlength=200 hint="What it is for, such as \"billing\"." result/>
                        {children()}
                        <p class="field-error form-fields-error" aria-live="polite">{events_error}</p>
                        <p class="actions"><button type="submit" class="button button-primary">"Add endpoint"</button></p>
                    </ActionForm>
                </section>
            }
            .into_any()
        }
    };
    view! {
        {move || shown().map(|secret| view! {
            <ShownOnce key=secret noun="signing secret" product=product.clone()/>
            <p class="actions"><a class="button button-primary" href=done.clone() rel="external">"Done"</a></p>
        })}
        <div class:hidden=move || shown().is_some()>{form}</div>
    }
}

/// The event types an endpoint can receive, as checkboxes of the form that registers one.
#[component]
fn EventChoices() -> impl IntoView {
    view! {
        <fieldset class="field scope-choices">
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
        </fieldset>
    }
}

fn endpoint_card(
    org: &str,
    page: &str,
    endpoint: EndpointView,
    asking: Asking,
    (act, resend): (ServerAction<WebhookAction>, ServerAction<ResendWebhook>),
    product: String,
) -> AnyView {
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
    let button = |action: &'static str, label: &'static str, class: &'static str| {
        let (org, id) = (org.to_owned(), id.clone());
        view! {
            <ActionForm action=act attr:class="inline-form">
                <input type="hidden" name="org" value=org/>
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
    let removal = if asking.remove {
        view! {
            {button("delete", "Yes, remove", "button-danger")}
            <a class="button button-small button-quiet" href=format!("{page}#webhook-{id}")>"Cancel"</a>
        }
        .into_any()
    } else {
        view! {
            <form method="get" action=format!("{page}#webhook-{id}") class="inline-form">
                <input type="hidden" name="confirm" value=id.clone()/>
                <button type="submit" class="button button-small button-danger-outline">"Remove"</button>
            </form>
        }
        .into_any()
    };
    let waiting = (endpoint.waiting > 0).then(|| format!("{} waiting", endpoint.waiting));
    let log = if endpoint.attempts.is_empty() {
        view! { <p class="empty">"No deliveries yet. Send a test event to try the endpoint."</p> }.into_any()
    } else {
        delivery_log(org, &id, endpoint.attempts, resend).into_any()
    };
    view! {
        <section class="card webhook" data-testid="webhook-endpoint" id=format!("webhook-{id}")>
            <div class="webhook-head">
                <h2 class="webhook-url"><code>{endpoint.url.clone()}</code></h2>
                <p class="webhook-state">{state} {waiting.map(|text| view! { <span class="detail">{format!(" · {text}")}</span> })}</p>
            </div>
            {(!endpoint.description.is_empty()).then(|| view! { <p class="webhook-description">{endpoint.description.clone()}</p> })}
            <p class="webhook-events"><span class="detail">"Events: "</span>{events}</p>
            <div class="actions webhook-actions">
                {test}
                {pause}
                {(!asking.rotate).then(|| view! {
                    <form method="get" action=format!("{page}#webhook-{id}") class="inline-form">
                        <input type="hidden" name="rotate" value=id.clone()/>
                        <button type="submit" class="button button-small button-quiet">"Rotate secret"</button>
                    </form>
                })}
                {removal}
            </div>
            {asking.rotate.then(|| view! { <SecretForm org=org.to_owned() product rotating=Some(id.clone())>""</SecretForm> })}
            <h3>"Delivery log"</h3>
            {log}
        </section>
    }
    .into_any()
}

fn delivery_log(
    org: &str,
    endpoint_id: &str,
    attempts: Vec<AttemptView>,
    resend: ServerAction<ResendWebhook>,
) -> AnyView {
    let rows = attempts
        .into_iter()
        .map(|attempt| {
            let (org, endpoint_id) = (org.to_owned(), endpoint_id.to_owned());
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
                            <input type="hidden" name="org" value=org/>
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
    .into_any()
}
