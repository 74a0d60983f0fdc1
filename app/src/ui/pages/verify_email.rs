//! `/verify-email/:secret`: the link from the verification message.
//!
//! Opening the link verifies nothing: a mail scanner or a chat preview that fetches it would spend it. The
//! page checks the link and offers a button; the button's post verifies the address.

use crate::api::recovery::{EMAIL_VERIFIED, VerifyEmail, verification_link_works};
use crate::ui::components::form::{Asked, FormAlert, refusal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Offers to verify the address, and says how it went.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let secret = use_params_map().get_untracked().get("secret").unwrap_or_default();
    let verified = Asked::read().did(EMAIL_VERIFIED);
    let works = Resource::new(
        {
            let secret = secret.clone();
            move || secret.clone()
        },
        move |secret| async move { if verified { Ok(false) } else { verification_link_works(secret).await } },
    );
    let secret = StoredValue::new(secret);
    let verify = ServerAction::<VerifyEmail>::new();
    let result = refusal(verify.value());
    view! {
        <Title text="Verify your email address"/>
        <section class="auth-card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Verify your email address"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if verified {
                        return view! {
                            <p class="alert alert-success" role="status" data-testid="email-verified">"Thank you: your email address is verified."</p>
                            <a class="button button-primary button-block" href="/">"Go to your keys"</a>
                        }.into_any();
                    }
                    match works.await {
                        Ok(true) => view! {
                            <p class="lede">"Confirm that this address is yours."</p>
                            <ActionForm action=verify attr:class="form">
                                <FormAlert result every=true/>
                                <input type="hidden" name="secret" value=secret.get_value()/>
                                <button type="submit" class="button button-primary button-block">"Verify my address"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <p class="alert alert-error" role="alert" data-testid="verify-unusable">"This link has expired or has already been used."</p>
                            <p class="muted">"Sign in and use “Send again” in the banner for a fresh link."</p>
                            <a class="button button-block" href="/">"Continue"</a>
                        }.into_any(),
                        Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
