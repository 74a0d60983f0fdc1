//! The security sections of `/settings`: two-factor sign-in, signed-in sessions and key notices. Their
//! resources are made by [`SecurityResources::load`] in the page's component, before the session is awaited
//! (see [`crate::ui::components::guard::RequireAccount`]), and the sections only read them.

use crate::api::ApiError;
use crate::api::security::{
    BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, EndOtherSessions, EndSession, NoticeSetting,
    SaveNoticeSettings, SessionView, TwoFactorView, list_sessions, notice_settings, two_factor_status,
};
use crate::ui::components::form::{Field, FormAlert, refusal};
use leptos::prelude::*;

/// What the security sections load.
#[derive(Clone, Copy)]
pub struct SecurityResources {
    two_factor: Resource<Result<TwoFactorView, ApiError>>,
    sessions: Resource<Result<Vec<SessionView>, ApiError>>,
    notices: Resource<Result<Vec<NoticeSetting>, ApiError>>,
}

impl SecurityResources {
    /// Makes them; call it in the page's component.
    pub fn load() -> Self {
        Self {
            two_factor: Resource::new(|| (), |_| two_factor_status()),
            sessions: Resource::new(|| (), |_| list_sessions()),
            notices: Resource::new(|| (), |_| notice_settings()),
        }
    }
}

fn error_view(err: &ApiError) -> AnyView {
    view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any()
}

/// Turning two-factor sign-in on (QR code, secret, confirmation, recovery codes) and off.
#[component]
pub fn TwoFactorSection(resources: SecurityResources) -> impl IntoView {
    let status = resources.two_factor;
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(status) if status.applies => view! { <TwoFactorCard status/> }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(err) => error_view(&err),
                }
            })}
        </Suspense>
    }
}

/// On: how many recovery codes are left, and turning it off (a plain form post). Off: the steps that turn
/// it on, the card's only island, since they show a secret and the recovery codes once.
#[component]
fn TwoFactorCard(status: TwoFactorView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="two-factor-title" id="two-factor" data-testid="two-factor">
            <h2 id="two-factor-title">"Two-factor sign-in"</h2>
            {if status.enabled {
                enabled_view(status).into_any()
            } else {
                view! { <TwoFactorEnrolment required=status.required/> }.into_any()
            }}
        </section>
    }
}

fn enabled_view(status: TwoFactorView) -> impl IntoView {
    let disable = ServerAction::<DisableTwoFactor>::new();
    let result = refusal(disable.value());
    // A refusal comes back in the address: open the form again so that it shows.
    let refused = result.get_untracked().is_some();
    view! {
        <p class="status-line"><span class="badge badge-active">"On"</span>
            {format!(" Signing in takes a code from your authenticator app. {} of 10 recovery codes left.", status.recovery_codes_left)}
        </p>
        {if status.required {
            view! { <p class="muted">"This portal requires two-factor sign-in, so it stays on."</p> }.into_any()
        } else {
            view! {
                <details class="disclosure" open=refused>
                    <summary>"Turn off two-factor sign-in"</summary>
                    <ActionForm action=disable attr:class="form narrow-form" attr:novalidate=true>
                        <FormAlert result/>
                        <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result/>
                        <Field label="Code" name="code" autocomplete="one-time-code" maxlength=20 hint="From your authenticator app, or a recovery code." result/>
                        <p class="actions"><button type="submit" class="button button-danger">"Turn off"</button></p>
                    </ActionForm>
                </details>
            }.into_any()
        }}
    }
}

/// Turning two-factor sign-in on: the QR code and secret, the first code, then the recovery codes.
#[island(lazy)]
fn TwoFactorEnrolment(required: bool) -> impl IntoView {
    crate::ui::live::island_live();
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let began = begin.value();
    let confirmed = confirm.value();
    let begin_result = refusal(began);
    let confirm_result = refusal(confirmed);
    view! {
        {required.then(|| view! {
            <p class="alert alert-warning" role="alert">"This portal requires two-factor sign-in: turn it on to continue."</p>
        })}
        {move || match (began.get(), confirmed.get()) {
            (_, Some(Ok(codes))) => view! {
                <div data-testid="recovery-codes">
                    <p class="alert alert-success" role="status">"Two-factor sign-in is on."</p>
                    <p>"Save these recovery codes somewhere safe, away from your phone. Each signs you in once if you lose your authenticator app. They are shown only now."</p>
                    <ol class="recovery-codes">
                        {codes.0.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                    </ol>
                    <a class="button button-primary" href="/settings" rel="external">"I have saved them"</a>
                </div>
            }.into_any(),
            (Some(Ok(enrolment)), _) => view! {
                <ol class="steps">
                    <li>"Scan this QR code with an authenticator app (1Password, Google Authenticator, Authy…)."</li>
                </ol>
                <div class="qr-code" role="img" aria-label="QR code for your authenticator app" inner_html=enrolment.qr_svg.clone()></div>
                <p class="muted">"Can't scan it? Enter this key in the app instead:"</p>
                <p><code class="totp-secret" data-testid="totp-secret">{enrolment.secret.clone()}</code></p>
                <ol class="steps" start="2"><li>"Enter the 6-digit code the app shows."</li></ol>
                <ActionForm action=confirm attr:class="form narrow-form" attr:novalidate=true>
                    <FormAlert result=confirm_result/>
                    <Field label="Code" name="code" autocomplete="one-time-code" maxlength=10 result=confirm_result/>
                    <p class="actions"><button type="submit" class="button button-primary">"Turn on"</button></p>
                </ActionForm>
            }.into_any(),
            _ => view! {
                <p class="muted">"Protect your account with a code from an authenticator app on your phone, asked for after your password."</p>
                <FormAlert result=begin_result/>
                <ActionForm action=begin attr:class="inline-form">
                    <button type="submit" class="button button-primary">"Set up two-factor sign-in"</button>
                </ActionForm>
            }.into_any(),
        }}
    }
}

/// The person's signed-in sessions, with a way to sign out any other one, or all of them; `ended` other
/// sessions were just signed out.
#[component]
pub fn SessionsSection(resources: SecurityResources, ended: Option<u64>) -> impl IntoView {
    let sessions = resources.sessions;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(sessions) => view! { <Sessions sessions ended/> }.into_any(),
                    Err(err) => error_view(&err),
                }
            })}
        </Suspense>
    }
}

/// The sessions card. Not an island: each sign-out is a plain form post, and the page comes back with the
/// list as it is now (and `?done=ended&ended=N` after "Sign out all other sessions").
#[component]
fn Sessions(sessions: Vec<SessionView>, ended: Option<u64>) -> impl IntoView {
    let end = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let (end_value, others_value) = (end.value(), end_others.value());
    let result = Signal::derive(move || {
        end_value.get().and_then(Result::err).or_else(|| others_value.get().and_then(Result::err))
    });
    let ended = ended.filter(|_| result.get_untracked().is_none());
    view! {
        <section class="card" aria-labelledby="sessions-title" id="sessions" data-testid="sessions">
            <h2 id="sessions-title">"Your sessions"</h2>
            <p class="muted">"Where your account is signed in now. Sign out any you do not recognise, then change your password."</p>
            <FormAlert result/>
            {ended.map(|ended| view! {
                <p class="alert alert-success" role="status">{format!("Signed out {ended} other session{}.", if ended == 1 { "" } else { "s" })}</p>
            })}
            {sessions_table(sessions, end)}
            <ActionForm action=end_others attr:class="inline-form">
                <button type="submit" class="button">"Sign out all other sessions"</button>
            </ActionForm>
        </section>
    }
}

fn sessions_table(list: Vec<SessionView>, end: ServerAction<EndSession>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="sessions">
                <thead><tr>
                    <th scope="col">"Browser"</th><th scope="col">"Address"</th><th scope="col">"Signed in"</th>
                    <th scope="col">"Last active"</th><th scope="col"><span class="visually-hidden">"Action"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|session| view! {
                        <tr data-testid="session-row" class:current=session.current>
                            <td data-label="Browser">{session.browser.clone()}
                                {session.current.then(|| view! { <span class="badge badge-active">"This browser"</span> })}
                            </td>
                            <td data-label="Address">{session.ip.clone().unwrap_or_else(|| "unknown".into())}</td>
                            <td data-label="Signed in">{session.signed_in.clone()}</td>
                            <td data-label="Last active">{session.last_active.clone()}</td>
                            <td class="row-actions">
                                {(!session.current).then(|| view! {
                                    <ActionForm action=end attr:class="inline-form">
                                        <input type="hidden" name="reference" value=session.reference.clone()/>
                                        <button type="submit" class="button button-small">"Sign out"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Which key notices the person receives by email; `saved` when the form was just saved.
#[component]
pub fn NoticesSection(resources: SecurityResources, saved: bool) -> impl IntoView {
    let settings = resources.notices;
    view! {
        <section class="card" aria-labelledby="notices-title" id="notices" data-testid="notices">
            <h2 id="notices-title">"Email notices"</h2>
            <p class="muted">"About keys in the organisations you own or administer, and keys you created. Security notices (password changes, two-factor sign-in, sign-ins from a new browser) are always sent."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(list) => view! { <NoticesForm list saved/> }.into_any(),
                        Err(err) => error_view(&err),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The notices as checkboxes, and "Save". Not an island: a plain form post that comes back with
/// `?done=notices`.
#[component]
fn NoticesForm(list: Vec<NoticeSetting>, saved: bool) -> impl IntoView {
    let save = ServerAction::<SaveNoticeSettings>::new();
    let result = refusal(save.value());
    let saved = saved && result.get_untracked().is_none();
    view! {
        <ActionForm action=save attr:class="form" attr:novalidate=true>
            <FormAlert result/>
            <fieldset class="checks">
                <legend class="visually-hidden">"Send me an email when"</legend>
                {list.into_iter().enumerate().map(|(i, setting): (usize, NoticeSetting)| {
                    let id = format!("notice-{}", setting.kind);
                    let label_for = id.clone();
                    view! {
                        <label class="check" for=label_for>
                            <input type="checkbox" id=id name=format!("on[{i}]") value=setting.kind checked=setting.on/>
                            <span>{setting.label}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <p class="actions">
                <button type="submit" class="button button-primary">"Save"</button>
                {saved.then(|| view! { <span class="saved" role="status">"Saved"</span> })}
            </p>
        </ActionForm>
    }
}
