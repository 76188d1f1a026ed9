//! Outbound messages: mail over SMTP and SMS through the gateway.

pub mod mail;
pub mod sms;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (no connection, 4xx, timeout, 5xx from a gateway).
    Transient(String),
    /// No retry would change it (a 5xx from the mail relay, a 4xx from the gateway).
    Permanent(String),
}

/// The certificates of a PEM file (`ca_file`), to trust besides the public
/// roots. An unreadable file or one without a certificate is an error
/// (beginning with the path).
pub fn load_ca_file(path: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| format!("{path} cannot be read: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path} is not a PEM file of certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{path} holds no certificate (PEM, BEGIN CERTIFICATE)"
        ));
    }
    Ok(certs)
}

/// `text` (an error from a relay or gateway) without the recipient's
/// `address` or anything else that looks like an email address.
pub fn scrub(text: &str, address: &str) -> String {
    let mut out = text.to_owned();
    if !address.is_empty() {
        out = replace_ignoring_case(&out, address, "***");
    }
    out.split_inclusive(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c))
        .map(|piece| {
            let word =
                piece.trim_end_matches(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c));
            if word.contains('@') {
                piece.replacen(word, "***", 1)
            } else {
                piece.to_owned()
            }
        })
        .collect()
}

fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    let (lower, needle) = (text.to_lowercase(), needle.to_lowercase());
    if lower.len() != text.len() {
        return text.replace(&needle, with);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(&needle) {
        out.push_str(&text[last..i]);
        out.push_str(with);
        last = i + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn errors_keep_no_address() {
        assert_eq!(
            scrub(
                "550 5.1.1 <Boss@Ent.example.cn>: unknown user",
                "boss@ent.example.cn"
            ),
            "550 5.1.1 <***>: unknown user"
        );
        assert_eq!(
            scrub("553 other@x.cn refused", "boss@ent.example.cn"),
            "553 *** refused"
        );
        assert_eq!(
            scrub("invalid number 13800000004", "13800000004"),
            "invalid number ***"
        );
        assert_eq!(
            scrub("Connection refused (os error 111)", "a@b.cn"),
            "Connection refused (os error 111)"
        );
    }
}
