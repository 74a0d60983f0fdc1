//! Where messages go: an SMTP server (`LATCHKEY_SMTP_URL`), or, with none configured, one `.eml` file per
//! message in an outbox directory, so that Latchkey runs with zero setup and nothing is lost.

use super::render::Rendered;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How a message failed to go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server is away, busy, or answered 4xx.
    #[error("{0}")]
    Temporary(String),
    /// Trying again will not help: a bad address, or the server answered 5xx.
    #[error("{0}")]
    Permanent(String),
}

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A directory of `.eml` files.
    Directory(PathBuf),
}

impl std::fmt::Debug for Transport {
    // The SMTP transport holds the server's credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(_) => f.write_str("Transport::Smtp"),
            Self::Directory(dir) => f.debug_tuple("Transport::Directory").field(dir).finish(),
        }
    }
}

/// How the SMTP server is reached, read from `LATCHKEY_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `smtps://`: TLS from the first byte.
    pub implicit_tls: bool,
    /// Plain text: allowed only to a loopback address.
    pub plaintext: bool,
    /// User name and password.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("implicit_tls", &self.implicit_tls)
            .field("plaintext", &self.plaintext)
            .field("credentials", &self.credentials.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why `LATCHKEY_SMTP_URL` was refused.
pub type SmtpUrlError = String;

impl SmtpServer {
    /// Reads `smtp://[user:password@]host[:port]` (STARTTLS required, or plain text on loopback) or
    /// `smtps://[user:password@]host[:port]` (TLS).
    pub fn parse(input: &str) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(input).map_err(|err| format!("not a URL ({err})"))?;
        let implicit_tls = match url.scheme() {
            "smtps" => true,
            "smtp" => false,
            other => return Err(format!("scheme {other}: is not smtp:// or smtps://")),
        };
        let host = url.host_str().filter(|host| !host.is_empty()).ok_or("no host")?.to_owned();
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let credentials = if url.username().is_empty() {
            None
        } else {
            let decode =
                |part: &str| percent_decode(part).ok_or("the user name or password is not valid percent-encoded UTF-8");
            Some((decode(url.username())?, decode(url.password().unwrap_or_default())?))
        };
        if url.path().len() > 1 || url.query().is_some() {
            return Err("takes no path or query".into());
        }
        Ok(Self { host, port, implicit_tls, plaintext: !implicit_tls && loopback, credentials })
    }

    /// The transport, with `timeout` for each conversation.
    pub fn transport(&self, timeout: Duration) -> Result<Transport, String> {
        let builder = if self.plaintext {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str())
        } else if self.implicit_tls {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(|err| err.to_string())?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host).map_err(|err| err.to_string())?
        };
        let mut builder = builder.port(self.port).timeout(Some(timeout));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Transport::Smtp(builder.build()))
    }

    /// How start-up describes it.
    pub fn describe(&self) -> String {
        let security = if self.plaintext {
            "plain text on loopback"
        } else if self.implicit_tls {
            "TLS"
        } else {
            "STARTTLS"
        };
        format!("{}:{} ({security})", self.host, self.port)
    }
}

fn percent_decode(part: &str) -> Option<String> {
    percent_encoding::percent_decode_str(part).decode_utf8().ok().map(|decoded| decoded.into_owned())
}

/// Builds the MIME message: a plain-text and an HTML alternative, with a Message-ID made from the outbox id
/// so that a copy sent twice (a sender killed between the server's yes and the database write) can be told
/// for the same message.
pub fn build(from: &Mailbox, to: &str, outbox_id: &str, rendered: &Rendered) -> Result<Message, SendError> {
    let to: Mailbox = to.parse().map_err(|err| SendError::Permanent(format!("bad recipient address: {err}")))?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(format!("<{outbox_id}@{domain}>")))
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))
        .map_err(|err| SendError::Permanent(format!("message could not be built: {err}")))
}

impl Transport {
    /// Hands `message` on.
    pub async fn send(&self, outbox_id: &str, message: Message) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(err) if err.is_permanent() => Err(SendError::Permanent(err.to_string())),
                Err(err) => Err(SendError::Temporary(err.to_string())),
            },
            Self::Directory(dir) => {
                // Named by the outbox id and renamed into place: a message written twice is one file.
                let bytes = message.formatted();
                let target = dir.join(format!("{outbox_id}.eml"));
                let partial = dir.join(format!(".{outbox_id}.eml.partial"));
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&partial, bytes).await?;
                    tokio::fs::rename(&partial, &target).await
                };
                write.await.map_err(|err| SendError::Temporary(format!("cannot write {}: {err}", target.display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_their_security() {
        let starttls = SmtpServer::parse("smtp://user:p%40ss@mail.example.com:587").expect("parse");
        assert!(!starttls.plaintext && !starttls.implicit_tls);
        assert_eq!(starttls.credentials, Some(("user".into(), "p@ss".into())));
        assert!(!format!("{starttls:?}").contains("p@ss"));
        let tls = SmtpServer::parse("smtps://mail.example.com").expect("parse");
        assert!(tls.implicit_tls && tls.port == 465);
        let local = SmtpServer::parse("smtp://127.0.0.1:2525").expect("parse");
        assert!(local.plaintext && local.port == 2525);
        assert!(!SmtpServer::parse("smtp://mail.example.com:25").expect("parse").plaintext);
        for bad in ["http://mail.example.com", "smtp://", "not a url", "smtp://h/path", "smtp://u:%ff@h"] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad}");
        }
    }
}
