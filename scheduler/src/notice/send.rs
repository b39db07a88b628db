//! Sending a finished notice over SMTP with lettre (tokio, rustls with ring): the [`Mailer`]
//! built from the `[mail]` settings, the exact-bytes [`Mailer::send_raw`] the outbox calls, and
//! [`build_message`], which turns a notice's parts into RFC 5322 bytes.
//!
//! Sending the stored bytes unchanged (rather than rebuilding the message) keeps the Message-ID
//! stable across retries, so a retry never produces a second, different message. Errors say
//! whether a retry can help ([`SendError::permanent`]) and never carry the SMTP password.

use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use std::path::Path;
use std::time::Duration;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What went wrong, with the server's answer when there was one. Never holds the password.
    pub message: String,
    /// True when retrying the same message cannot succeed: the server answered 5xx, an address
    /// is invalid, or the settings are unusable. False for refused connections, timeouts, TLS
    /// failures and 4xx answers, which a later attempt may get past.
    pub permanent: bool,
}

impl SendError {
    pub(crate) fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            permanent: true,
        }
    }
}

/// How the connection is secured, from the `smtp_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtp://host:port`: no TLS at all.
    Plain,
    /// `smtp://host:port?tls=required`: STARTTLS, refusing to go on without it.
    StartTls,
    /// `smtp://host:port?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtps://host:port`: TLS from the first byte.
    Implicit,
}

/// The parts of an `smtp_url` Ferry uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
    security: Security,
}

/// Parses lettre's URL form `smtp[s]://host[:port][?tls=required|opportunistic]`. Credentials
/// in the URL are refused (they come from `username` and `password_env`/`password_file`), and
/// no error repeats the URL, in case it holds one anyway.
fn parse_url(url: &str) -> Result<Endpoint, SendError> {
    let bad = |why: &str| SendError::permanent(format!("invalid smtp_url: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected smtp://HOST[:PORT] or smtps://HOST[:PORT]"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(bad(
            "credentials do not belong in the URL; use [mail] username and password_env or password_file",
        ));
    }
    if authority.contains('/') {
        return Err(bad("a path is not supported"));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let mut tls = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("tls", value)) => tls = Some(value),
            _ => {
                return Err(bad(
                    "the only query parameter is tls=required|opportunistic",
                ));
            }
        }
    }
    let security = match (scheme, tls) {
        ("smtp", None) => Security::Plain,
        ("smtp", Some("required")) => Security::StartTls,
        ("smtp", Some("opportunistic")) => Security::Opportunistic,
        ("smtps", None) => Security::Implicit,
        ("smtp" | "smtps", Some(_)) => {
            return Err(bad(
                "tls must be `required` or `opportunistic`, and only with smtp://",
            ));
        }
        _ => return Err(bad("the scheme must be smtp or smtps")),
    };
    let port = match port {
        Some(port) => port
            .parse()
            .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
        None => match security {
            Security::Plain => 25,
            Security::StartTls | Security::Opportunistic => 587,
            Security::Implicit => 465,
        },
    };
    Ok(Endpoint {
        host: host.to_owned(),
        port,
        security,
    })
}

/// An SMTP client for one server. Each send opens its own connection, so a `Mailer` can be
/// kept for the life of the process and shared.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// `host:port`, for messages.
    server: String,
    /// Kept only to scrub it from error texts.
    password: Option<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:port` plain, `smtp://host:port?tls=required`
    /// STARTTLS, `smtps://host:port` implicit TLS). Server certificates are checked against the
    /// PEM `ca_file` alone when given, otherwise against the Mozilla roots (webpki-roots).
    /// `username` and `password` log in when both are given. `timeout` bounds connecting and
    /// every SMTP exchange.
    ///
    /// # Errors
    /// A permanent [`SendError`] when the URL is invalid or the CA file is unreadable or holds
    /// no certificate.
    pub fn new(
        smtp_url: &str,
        username: Option<String>,
        password: Option<String>,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<Mailer, SendError> {
        let endpoint = parse_url(smtp_url)?;
        let server = format!("{}:{}", endpoint.host, endpoint.port);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host)
            .port(endpoint.port)
            .timeout(Some(timeout));
        if endpoint.security != Security::Plain {
            let parameters = tls_parameters(&endpoint.host, ca_file)?;
            builder = builder.tls(match endpoint.security {
                Security::StartTls => Tls::Required(parameters),
                Security::Opportunistic => Tls::Opportunistic(parameters),
                _ => Tls::Wrapper(parameters),
            });
        }
        if let (Some(user), Some(secret)) = (username, password.clone()) {
            builder = builder.credentials(Credentials::new(user, secret));
        }
        Ok(Mailer {
            transport: builder.build(),
            server,
            password: password.filter(|p| !p.is_empty()),
        })
    }

    /// The `host:port` this mailer sends to.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends exactly `raw` (a complete RFC 5322 message) from `from` to every address in `to`,
    /// returning the server's final answer (e.g. `250 OK`).
    ///
    /// # Errors
    /// A [`SendError`], permanent when the server answered 5xx (its text included) or an address
    /// is invalid; transient when the server could not be reached, timed out, failed TLS or
    /// answered 4xx.
    pub async fn send_raw(
        &self,
        from: &str,
        to: &[String],
        raw: &[u8],
    ) -> Result<String, SendError> {
        let sender = parse_address(from)?;
        let recipients = to
            .iter()
            .map(|address| parse_address(address))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(sender), recipients)
            .map_err(|e| SendError::permanent(format!("invalid envelope: {e}")))?;
        match self.transport.send_raw(&envelope, raw).await {
            Ok(response) => {
                let text = response.message().collect::<Vec<_>>().join(" ");
                Ok(format!("{} {text}", response.code()).trim_end().to_owned())
            }
            Err(e) => {
                let message = self.scrub(format!("SMTP server {}: {}", self.server, chain(&e)));
                Err(SendError {
                    message,
                    permanent: e.is_permanent(),
                })
            }
        }
    }

    /// Replaces the password, should a server or library ever echo it, by `***`.
    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(password) => text.replace(password.as_str(), "***"),
            None => text,
        }
    }
}

/// TLS parameters for `host`, trusting `ca_file` only, or else the webpki roots.
fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, SendError> {
    // Only ring is compiled in; rustls still wants a process default before building a client
    // config. A second install (someone got there first) is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = TlsParameters::builder(host.to_owned());
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                SendError::permanent(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                SendError::permanent(format!("CA file {} is not usable: {e}", path.display()))
            })?;
            builder = builder
                .certificate_store(CertificateStore::None)
                .add_root_certificate(certificate);
        }
        None => builder = builder.certificate_store(CertificateStore::WebpkiRoots),
    }
    builder
        .build_rustls()
        .map_err(|e| SendError::permanent(format!("cannot set up TLS for {host}: {}", chain(&e))))
}

/// An envelope address from `ada@example.org` or `Ada <ada@example.org>`.
fn parse_address(text: &str) -> Result<Address, SendError> {
    text.parse::<Address>()
        .or_else(|_| text.parse::<Mailbox>().map(|mailbox| mailbox.email))
        .map_err(|e| SendError::permanent(format!("invalid address {text:?}: {e}")))
}

/// An error and its causes, each once: lettre's text names only the first cause.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    // lettre wraps a cause in an error of the same kind: "Connection error: Connection error: x".
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        if parts.last() != Some(&part) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

/// One attachment: file name, MIME content type (e.g. `text/csv`) and bytes.
pub type AttachmentPart = (String, String, Vec<u8>);

/// A complete message as RFC 5322 bytes: `multipart/mixed` holding a `multipart/alternative`
/// (plain `text`, then `html`) and then each attachment, with the given `message_id`
/// (`<id@host>`, kept across retries). Addresses may carry display names (`Ferry <f@x.org>`).
///
/// # Errors
/// A permanent [`SendError`] for an invalid address or content type.
pub fn build_message(
    from: &str,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
    attachments: &[AttachmentPart],
    message_id: &str,
) -> Result<Vec<u8>, SendError> {
    let mailbox = |text: &str| {
        text.parse::<Mailbox>()
            .map_err(|e| SendError::permanent(format!("invalid address {text:?}: {e}")))
    };
    let mut builder = Message::builder()
        .from(mailbox(from)?)
        .subject(subject)
        .message_id(Some(message_id.to_owned()));
    for address in to {
        builder = builder.to(mailbox(address)?);
    }
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
        text.to_owned(),
        html.to_owned(),
    ));
    for (filename, content_type, bytes) in attachments {
        let content_type = ContentType::parse(content_type).map_err(|e| {
            SendError::permanent(format!(
                "invalid content type {content_type:?} for {filename}: {e}"
            ))
        })?;
        body = body.singlepart(Attachment::new(filename.clone()).body(bytes.clone(), content_type));
    }
    let message = builder
        .multipart(body)
        .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_url_reads_the_three_security_forms_and_default_ports() {
        let plain = parse_url("smtp://mail.example.org:2525").expect("plain");
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.security),
            ("mail.example.org", 2525, Security::Plain)
        );
        let starttls = parse_url("smtp://mail.example.org?tls=required").expect("starttls");
        assert_eq!(
            (starttls.port, starttls.security),
            (587, Security::StartTls)
        );
        let implicit = parse_url("smtps://[::1]").expect("smtps");
        assert_eq!(
            (implicit.host.as_str(), implicit.port, implicit.security),
            ("::1", 465, Security::Implicit)
        );
    }

    #[test]
    fn parse_url_refuses_credentials_without_repeating_them() {
        let error = parse_url("smtp://ada:hunter2@mail.example.org").expect_err("refused");
        assert!(error.permanent);
        assert!(!error.message.contains("hunter2"), "{}", error.message);
        assert!(parse_url("http://mail.example.org").is_err());
        assert!(parse_url("smtp://mail.example.org?tls=sometimes").is_err());
        assert!(parse_url("smtp://mail.example.org:99999").is_err());
    }
}
