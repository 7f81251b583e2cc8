//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the app secret (docs/architecture.md).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// True when `header` is `sha256=<hex>` of `body` under `secret`. The comparison of the
/// MAC is constant-time (`verify_slice`); hex decoding happens first and leaks nothing secret.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value Meta would send for `body`: used by the simulator and tests.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const RFC4231_2: &str =
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn known_vector() {
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), RFC4231_2);
        assert!(verify(
            b"Jefe",
            b"what do ya want for nothing?",
            Some(RFC4231_2)
        ));
    }

    #[test]
    fn refuses_missing_malformed_or_wrong_signatures() {
        let body = b"what do ya want for nothing?";
        assert!(!verify(b"Jefe", body, None));
        assert!(!verify(b"Jefe", body, Some("")));
        assert!(!verify(
            b"Jefe",
            body,
            Some(&RFC4231_2.replace("sha256=", "sha1="))
        ));
        assert!(!verify(b"Jefe", body, Some("sha256=zz")));
        assert!(!verify(
            b"Jefe",
            body,
            Some(&RFC4231_2[..RFC4231_2.len() - 2])
        ));
        assert!(!verify(b"other", body, Some(RFC4231_2)));
        assert!(!verify(
            b"Jefe",
            b"what do ya want for nothing!",
            Some(RFC4231_2)
        ));
    }
}
