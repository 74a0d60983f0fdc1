//! A message as a subject with a plain-text and an HTML part, in the provider's brand, with a footer that
//! says why it was sent.

use super::messages::{KeyRef, Mail};

/// What every message is dressed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailBrand {
    /// The provider's product name, or "Latchkey".
    pub product_name: String,
    /// Where the portal is, e.g. `https://keys.example.com`, without a trailing slash.
    pub base_url: String,
    /// The accent colour, `#rrggbb`.
    pub accent: String,
    /// An absolute URL of the logo, when there is one.
    pub logo_url: Option<String>,
    /// Where to ask for help.
    pub support_url: Option<String>,
}

/// A message ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    // A rendered message may carry a single-use link.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The parts of a message, before they are laid out as text and as HTML.
struct Parts {
    subject: String,
    paragraphs: Vec<String>,
    details: Vec<(&'static str, String)>,
    action: Option<(String, String)>,
    after: Vec<String>,
    why: String,
}

/// Renders `mail` to `recipient`; `link` is the single-use link's URL for messages that carry one.
pub fn render(mail: &Mail, brand: &MailBrand, link: Option<&str>) -> Rendered {
    let parts = parts(mail, brand, link.unwrap_or_default());
    Rendered { subject: parts.subject.clone(), text: text(&parts, brand), html: html(&parts, brand) }
}

fn key_url(brand: &MailBrand, key: &KeyRef) -> String {
    format!("{}/o/{}/keys/{}", brand.base_url, key.organisation_id, key.key_id)
}

fn key_notice_why(brand: &MailBrand, key: &KeyRef) -> String {
    format!(
        "You receive this because you look after {} on {} or created this key. Turn these notices off in your settings: {}/settings",
        key.organisation, brand.product_name, brand.base_url
    )
}

fn security_why(brand: &MailBrand) -> String {
    format!(
        "You receive this because it concerns the security of your {} account; these notices cannot be turned off.",
        brand.product_name
    )
}

fn not_you(brand: &MailBrand) -> String {
    format!(
        "If this was not you, reset your password at {}/forgot-password and check your sessions in your settings.",
        brand.base_url
    )
}

fn parts(mail: &Mail, brand: &MailBrand, link: &str) -> Parts {
    let product = &brand.product_name;
    match mail {
        Mail::VerifyEmail { .. } => Parts {
            subject: format!("Verify your email address for {product}"),
            paragraphs: vec![format!(
                "Confirm that this is your address, so that {product} can reach you about your API keys."
            )],
            details: vec![],
            action: Some(("Verify my address".into(), link.into())),
            after: vec!["The link works once, for 24 hours.".into()],
            why: format!(
                "You receive this because this address was used to sign up for {product}. If that was not you, ignore this message."
            ),
        },
        Mail::PasswordReset { .. } => Parts {
            subject: format!("Reset your {product} password"),
            paragraphs: vec!["Someone asked to reset the password of your account. Choose a new one here:".into()],
            details: vec![],
            action: Some(("Choose a new password".into(), link.into())),
            after: vec![
                "The link works once, for one hour. Using it signs you out everywhere.".into(),
                "If you did not ask for this, ignore this message: your password stays as it is.".into(),
            ],
            why: security_why(brand),
        },
        Mail::PasswordChanged { by_reset, at, from } => Parts {
            subject: format!("Your {product} password was {}", if *by_reset { "reset" } else { "changed" }),
            paragraphs: vec![format!(
                "The password of your account was {}, and every other session was signed out.",
                if *by_reset { "reset with a link sent to this address" } else { "changed in settings" }
            )],
            details: vec![("When", at.clone()), ("From", from.clone())],
            action: None,
            after: vec![not_you(brand)],
            why: security_why(brand),
        },
        Mail::TwoFactorEnabled { at, from } => Parts {
            subject: format!("Two-factor sign-in is on for your {product} account"),
            paragraphs: vec![
                "Signing in now takes a code from your authenticator app (or a recovery code) after your password."
                    .into(),
            ],
            details: vec![("When", at.clone()), ("From", from.clone())],
            action: None,
            after: vec![not_you(brand)],
            why: security_why(brand),
        },
        Mail::TwoFactorDisabled { at, from } => Parts {
            subject: format!("Two-factor sign-in was turned off for your {product} account"),
            paragraphs: vec!["Signing in now takes only your password.".into()],
            details: vec![("When", at.clone()), ("From", from.clone())],
            action: None,
            after: vec![not_you(brand)],
            why: security_why(brand),
        },
        Mail::NewSignIn { at, from } => Parts {
            subject: format!("New sign-in to {product}"),
            paragraphs: vec!["Your account was signed in to from a browser it has not used before.".into()],
            details: vec![("When", at.clone()), ("From", from.clone())],
            action: Some(("Review your sessions".into(), format!("{}/settings#sessions", brand.base_url))),
            after: vec![not_you(brand)],
            why: security_why(brand),
        },
        Mail::Invitation { organisation, role, invited_by, expires_at, .. } => Parts {
            subject: format!("{invited_by} invited you to {organisation} on {product}"),
            paragraphs: vec![format!(
                "{invited_by} invited you to manage the API keys of {organisation} on {product}, as {role}."
            )],
            details: vec![
                ("Organisation", organisation.clone()),
                ("Role", role.clone()),
                ("Invited by", invited_by.clone()),
            ],
            action: Some(("Accept the invitation".into(), link.into())),
            after: vec![format!(
                "The link works once, until {expires_at}. Sign in with this address, or create an account with it, to accept."
            )],
            why: format!(
                "You receive this because {invited_by} invited this address to {organisation} on {product}. If you did not expect it, ignore this message: nothing happens unless you accept."
            ),
        },
        Mail::KeyCreated { key, by, from } => Parts {
            subject: format!("New API key \"{}\" in {}", key.key_name, key.organisation),
            paragraphs: vec![format!("A new API key was created in {}.", key.organisation)],
            details: vec![("Key", key.key_name.clone()), ("By", by.clone()), ("From", from.clone())],
            action: Some(("View the key".into(), key_url(brand, key))),
            after: vec![format!("If you do not recognise it, revoke it on {product}.")],
            why: key_notice_why(brand, key),
        },
        Mail::KeyExpiring { key, expires_at, within } => Parts {
            subject: format!("API key \"{}\" expires in {within}", key.key_name),
            paragraphs: vec![format!(
                "The API key \"{}\" in {} expires in {within}. Requests that use it will then be refused.",
                key.key_name, key.organisation
            )],
            details: vec![("Key", key.key_name.clone()), ("Expires", expires_at.clone())],
            action: Some(("Roll or extend the key".into(), key_url(brand, key))),
            after: vec![],
            why: key_notice_why(brand, key),
        },
        Mail::KeyExpired { key, expired_at } => Parts {
            subject: format!("API key \"{}\" has expired", key.key_name),
            paragraphs: vec![format!(
                "The API key \"{}\" in {} expired; requests that use it are refused.",
                key.key_name, key.organisation
            )],
            details: vec![("Key", key.key_name.clone()), ("Expired", expired_at.clone())],
            action: Some(("Create a new key".into(), format!("{}/o/{}/keys/new", brand.base_url, key.organisation_id))),
            after: vec![],
            why: key_notice_why(brand, key),
        },
        Mail::KeyRevoked { key, by } => Parts {
            subject: format!("API key \"{}\" was revoked", key.key_name),
            paragraphs: vec![format!(
                "The API key \"{}\" in {} was revoked; requests that use it are refused.",
                key.key_name, key.organisation
            )],
            details: vec![("Key", key.key_name.clone()), ("By", by.clone())],
            action: Some(("View the key".into(), key_url(brand, key))),
            after: vec![],
            why: key_notice_why(brand, key),
        },
        Mail::KeyLeaked { key, url, source, revoked } => Parts {
            subject: format!("API key \"{}\" was found in public", key.key_name),
            paragraphs: vec![if *revoked {
                format!(
                    "The API key \"{}\" in {} was found in public and has been revoked: requests that use it are refused. Create a new key and replace it wherever it was used.",
                    key.key_name, key.organisation
                )
            } else {
                format!(
                    "The API key \"{}\" in {} was found in public. It still works: revoke or roll it now, and replace it wherever it was used.",
                    key.key_name, key.organisation
                )
            }],
            details: vec![("Key", key.key_name.clone()), ("Found at", url.clone()), ("Reported by", source.clone())],
            action: Some(("View the key".into(), key_url(brand, key))),
            after: vec![
                "Anyone who saw it could have used it: check the key's usage for requests you do not recognise.".into(),
            ],
            why: format!(
                "You receive this because you look after {} on {product}; notices about leaked keys cannot be turned off.",
                key.organisation
            ),
        },
        Mail::WebhookDisabled { organisation_id, organisation, url, failing_since } => Parts {
            subject: format!("A webhook endpoint of {organisation} was paused"),
            paragraphs: vec![format!(
                "Every delivery to this webhook endpoint has failed since {failing_since}, so {product} paused it. Events are kept: fix the receiver, then resume the endpoint to send them."
            )],
            details: vec![("Endpoint", url.clone()), ("Failing since", failing_since.clone())],
            action: Some(("Open the delivery log".into(), format!("{}/o/{organisation_id}/webhooks", brand.base_url))),
            after: vec![],
            why: format!("You receive this because you look after {organisation} on {product}."),
        },
    }
}

fn text(parts: &Parts, brand: &MailBrand) -> String {
    let mut out = String::new();
    for paragraph in &parts.paragraphs {
        out.push_str(paragraph);
        out.push_str("\n\n");
    }
    for (label, value) in &parts.details {
        out.push_str(&format!("{label}: {value}\n"));
    }
    if !parts.details.is_empty() {
        out.push('\n');
    }
    if let Some((label, url)) = &parts.action {
        out.push_str(&format!("{label}:\n{url}\n\n"));
    }
    for paragraph in &parts.after {
        out.push_str(paragraph);
        out.push_str("\n\n");
    }
    out.push_str("-- \n");
    out.push_str(&parts.why);
    out.push('\n');
    if let Some(support) = &brand.support_url {
        out.push_str(&format!("Help: {support}\n"));
    }
    out
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(parts: &Parts, brand: &MailBrand) -> String {
    let accent = escape(&brand.accent);
    let mut body = String::new();
    for paragraph in &parts.paragraphs {
        body.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>", escape(paragraph)));
    }
    if !parts.details.is_empty() {
        body.push_str("<table role=\"presentation\" style=\"margin:0 0 16px;border-collapse:collapse\">");
        for (label, value) in &parts.details {
            body.push_str(&format!(
                "<tr><td style=\"padding:2px 16px 2px 0;color:#5b6472\">{}</td><td style=\"padding:2px 0\">{}</td></tr>",
                escape(label),
                escape(value)
            ));
        }
        body.push_str("</table>");
    }
    if let Some((label, url)) = &parts.action {
        body.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{url}\" style=\"background:{accent};color:#ffffff;padding:12px 20px;\
             border-radius:6px;text-decoration:none;font-weight:600;display:inline-block\">{label}</a></p>\
             <p style=\"margin:0 0 16px;font-size:13px;color:#5b6472;word-break:break-all\">Or open this address: {url}</p>",
            url = escape(url),
            label = escape(label),
        ));
    }
    for paragraph in &parts.after {
        body.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>", escape(paragraph)));
    }
    let masthead = match &brand.logo_url {
        Some(logo) => format!(
            "<img src=\"{}\" alt=\"{}\" height=\"32\" style=\"height:32px;vertical-align:middle\">",
            escape(logo),
            escape(&brand.product_name)
        ),
        None => format!("<strong style=\"font-size:18px;color:#ffffff\">{}</strong>", escape(&brand.product_name)),
    };
    let support = brand
        .support_url
        .as_ref()
        .map_or_else(String::new, |url| format!(" <a href=\"{0}\" style=\"color:#5b6472\">Get help</a>.", escape(url)));
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{subject}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;\
         color:#1c2330;font-size:15px;line-height:1.5\">\
         <div style=\"max-width:560px;margin:0 auto;padding:24px 16px\">\
         <div style=\"background:{accent};padding:16px 24px;border-radius:8px 8px 0 0\">{masthead}</div>\
         <div style=\"background:#ffffff;padding:24px;border-radius:0 0 8px 8px\">\
         <h1 style=\"font-size:20px;margin:0 0 16px\">{subject}</h1>{body}</div>\
         <p style=\"font-size:12px;color:#5b6472;margin:16px 8px\">{why}{support}</p>\
         </div></body></html>",
        subject = escape(&parts.subject),
        why = escape(&parts.why),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> MailBrand {
        MailBrand {
            product_name: "Acme <Cloud>".into(),
            base_url: "https://keys.acme.test".into(),
            accent: "#0b5fff".into(),
            logo_url: None,
            support_url: Some("https://acme.test/help".into()),
        }
    }

    #[test]
    fn every_message_has_both_parts_the_brand_and_a_reason() {
        let mail = Mail::PasswordReset { link_id: "l".into() };
        let rendered = render(&mail, &brand(), Some("https://keys.acme.test/reset-password/abc"));
        assert_eq!(rendered.subject, "Reset your Acme <Cloud> password");
        assert!(rendered.text.contains("https://keys.acme.test/reset-password/abc"));
        assert!(rendered.text.contains("-- \nYou receive this because"));
        assert!(rendered.html.contains("Acme &lt;Cloud&gt;") && !rendered.html.contains("Acme <Cloud>"));
        assert!(rendered.html.contains("href=\"https://keys.acme.test/reset-password/abc\""));
        assert!(rendered.html.contains("https://acme.test/help"));
        assert!(!format!("{rendered:?}").contains("reset-password"));
    }

    #[test]
    fn names_people_chose_cannot_inject_markup() {
        let key = KeyRef {
            organisation_id: "o".into(),
            organisation: "<script>x</script>".into(),
            key_id: "k".into(),
            key_name: "\"><img src=x>".into(),
        };
        let rendered = render(&Mail::KeyRevoked { key, by: "a@b.c".into() }, &brand(), None);
        assert!(!rendered.html.contains("<script>") && !rendered.html.contains("<img src=x>"));
    }
}
