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
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_body_verifies_under_its_own_signature_and_no_changed_one(
            secret in proptest::collection::vec(any::<u8>(), 0..64),
            body in proptest::collection::vec(any::<u8>(), 0..512),
            flip in any::<prop::sample::Index>(),
            header in "\\PC{0,80}",
        ) {
            let signature = sign(&secret, &body);
            prop_assert!(verify(&secret, &body, Some(&signature)));
            if !body.is_empty() {
                let mut changed = body.clone();
                changed[flip.index(body.len())] ^= 0x01;
                prop_assert!(!verify(&secret, &changed, Some(&signature)));
            }
            // Any header at all: an answer, never a panic, and no stranger's string verifies.
            prop_assert_eq!(verify(&secret, &body, Some(&header)), header.trim() == signature);
        }
    }

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
