//! `/operator/service-tokens`: the operator lists, creates and revokes the tokens services use for the
//! `/v1` API. Anyone else sees the not-found page.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::service_tokens::{
    CreateServiceToken, PERMISSION_CHOICES, RevokeServiceToken, ServiceTokenView, list_service_tokens,
};
use crate::ui::components::form::{Asked, Field, FormAlert, refusal};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::ShownOnce;
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;

/// The operator's service-token page. `?confirm={id}` asks whether to revoke that token.
#[component]
pub fn ServiceTokensPage() -> impl IntoView {
    let tokens = Resource::new(|| (), |_| list_service_tokens());
    let asked = Asked::read();
    view! {
        <Title text="Service tokens"/>
        <RequireAccount page=move |account| tokens_page(account, tokens, asked.clone())/>
    }
}

fn tokens_page(
    account: AccountView,
    tokens: Resource<Result<Vec<ServiceTokenView>, ApiError>>,
    asked: Asked,
) -> AnyView {
    if !account.is_operator {
        return view! { <NotFoundPage/> }.into_any();
    }
    let product = crate::api::site::use_site().product_name;
    view! {
        <div class="page-head">
            <h1>"Service tokens"</h1>
            <p class="lede">"Your own services present these to the " <code>"/v1"</code> " API: to verify customers' keys and to manage them. See " <a href="/v1/openapi.json">"the API description"</a> "."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
            {move || { let asked = asked.clone(); Suspend::new(async move {
                match tokens.await {
                    Ok(tokens) if tokens.is_empty() => view! {
                        <p class="empty">"No service tokens yet. Create one below, or with " <code>"latchkey service-token create"</code> "."</p>
                    }.into_any(),
                    Ok(tokens) => view! { <TokenTable tokens asked/> }.into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
        <NewServiceTokenForm product/>
    }
    .into_any()
}

/// Creating a token, which is then shown once: the page's only island. "Done" loads the page again, with
/// the new token in the list.
#[island(lazy)]
fn NewServiceTokenForm(product: String) -> impl IntoView {
    crate::ui::live::island_live();
    let create = ServerAction::<CreateServiceToken>::new();
    let create_value = create.value();
    let create_result = refusal(create_value);
    let created = move || create_value.try_get().flatten().and_then(Result::ok);
    let permissions_error = move || create_result.get().and_then(|err| err.message_for("permissions"));
    // Reached through the signal, not the action: when the page goes away the action may be disposed first,
    // and then its value (and the secret in it) is already gone.
    let shown_value = create.value();
    on_cleanup(move || {
        // Untracked: a notification now would run the page's effects while it is being disposed.
        shown_value.try_update_untracked(|shown| *shown = None);
    });
    move || {
        match created() {
        Some(shown) => view! {
            <ShownOnce key=shown.plaintext noun="service token" product=product.clone()/>
            <p class="actions"><a class="button button-primary" href=PAGE rel="external">"Done"</a></p>
        }
        .into_any(),
        None => view! {
            <section class="card" aria-labelledby="new-token-title">
                <h2 id="new-token-title">"New service token"</h2>
                <ActionForm action=create attr:class="form" attr:novalidate=true>
                    <FormAlert result=create_result/>
                    <Field label="Name" name="name" maxlength=64 hint="The service that will use it, such as \"api-gateway\"." result=create_result/>
                    <fieldset class="field scope-choices" class:field-invalid=move || permissions_error().is_some()>
                        <legend>"Permissions"</legend>
                        {PERMISSION_CHOICES.iter().enumerate().map(|(i, (name, description))| {
                            let id = format!("permission-{i}");
                            let label_for = id.clone();
                            view! {
                                <label class="scope" for=label_for>
                                    <input type="checkbox" id=id name=format!("permissions[{i}]") value=*name checked=*name == "verify"/>
                                    <span><code>{*name}</code><span class="scope-description">{*description}</span></span>
                                </label>
                            }
                        }).collect_view()}
                        <p class="field-error" aria-live="polite">{permissions_error}</p>
                    </fieldset>
                    <p class="actions"><button type="submit" class="button button-primary">"Create token"</button></p>
                </ActionForm>
            </section>
        }
        .into_any(),
    }
    }
}

/// The page's address.
const PAGE: &str = "/operator/service-tokens";

/// The tokens. Not an island: "Revoke" loads the page again asking to confirm (`?confirm={id}`), and "Yes,
/// revoke" is a plain form post that comes back here.
#[component]
fn TokenTable(tokens: Vec<ServiceTokenView>, asked: Asked) -> impl IntoView {
    let revoke = ServerAction::<RevokeServiceToken>::new();
    let revoke_result = refusal(revoke.value());
    view! {
        <FormAlert result=revoke_result/>
        <div class="table-wrap tokens-wrap" id="tokens">
            <table class="keys tokens">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Permissions"</th>
                    <th scope="col">"Created"</th><th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {tokens.into_iter().map(|token| {
                        let revoked = token.revoked.is_some();
                        let confirming = asked.confirming(&token.id);
                        let (id, id_to_confirm) = (token.id.clone(), token.id.clone());
                        view! {
                            <tr class:finished=revoked>
                                <td data-label="Name">{token.name}</td>
                                <td data-label="Token"><code>{token.hint}</code></td>
                                <td data-label="Permissions">{token.permissions.join(", ")}</td>
                                <td data-label="Created">{token.created}</td>
                                <td data-label="Status">{match token.revoked {
                                    Some(at) => view! { <span class="badge badge-dead">"Revoked"</span> <span class="detail">{at}</span> }.into_any(),
                                    None => view! { <span class="badge badge-active">"Active"</span> }.into_any(),
                                }}</td>
                                <td data-label="">
                                    {(!revoked && confirming).then(|| view! {
                                        <ActionForm action=revoke attr:class="confirm">
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit" class="button button-danger button-small">"Yes, revoke"</button>
                                            <a class="button button-small button-quiet" href=PAGE>"Cancel"</a>
                                        </ActionForm>
                                    })}
                                    {(!revoked && !confirming).then(|| view! {
                                        <form method="get" action=PAGE class="inline-form">
                                            <input type="hidden" name="confirm" value=id_to_confirm/>
                                            <button type="submit" class="button button-danger-outline button-small">"Revoke"</button>
                                        </form>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
