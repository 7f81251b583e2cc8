//! Media: the photos, documents and voice notes users send and the files admins attach —
//! WhatsApp's types and limits, where a file is kept, how often a failed fetch is tried
//! again, and when a downloaded file is the one Meta described (docs/media.md).

use base64::Engine;

use crate::message_error::MessageError;
use crate::phone::Phone;
use crate::time::{Millis, DAY, HOUR, MINUTE};

/// Message types whose content is a file WhatsApp holds for us (for a few days only).
pub const MEDIA_KINDS: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

pub fn is_media_kind(kind: &str) -> bool {
    MEDIA_KINDS.contains(&kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStatus {
    /// Not in our store yet: being fetched (inbound) or uploaded (an attachment).
    Pending,
    Stored,
    /// Given up (Meta no longer has it, it never matched its checksum, or too many tries).
    Failed,
}

/// A message's file.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub mime_type: Option<String>,
    /// Bytes, once known.
    pub size: Option<u64>,
    pub filename: Option<String>,
    pub caption: Option<String>,
    pub status: MediaStatus,
    pub error: Option<MessageError>,
    /// WhatsApp's media id: for an inbound file, where to fetch it.
    pub media_id: Option<String>,
    /// Inbound: the SHA-256 Meta gave for the file, as it gave it (base64 or hex).
    pub sha256: Option<String>,
    /// Where the file is in the media bucket, once stored (or uploaded, for an attachment).
    pub object_key: Option<String>,
    /// Inbound: fetch attempts so far.
    pub attempts: u32,
}

impl Media {
    /// Still to be fetched (inbound) or uploaded.
    pub fn is_pending(&self) -> bool {
        self.status == MediaStatus::Pending
    }

    /// An inbound file, known only by WhatsApp's description of it: to be fetched.
    pub fn inbound(media_id: String, mime_type: Option<String>, sha256: Option<String>) -> Media {
        Media {
            mime_type,
            size: None,
            filename: None,
            caption: None,
            status: MediaStatus::Pending,
            error: None,
            media_id: Some(media_id),
            sha256,
            object_key: None,
            attempts: 0,
        }
    }
}

/// A file an admin is attaching: declared first (checked against WhatsApp's limits), then
/// uploaded straight to the bucket, then sent by its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: String,
    pub phone: Phone,
    pub filename: String,
    pub mime_type: String,
    /// As declared; the uploaded object is checked again before sending.
    pub size: u64,
    pub admin: String,
    pub created_at: Millis,
}

impl Attachment {
    pub fn object_key(&self) -> String {
        attachment_object_key(&self.phone, &self.id)
    }
}

/// An attachment not sent within this long is forgotten (its upload expires with the
/// bucket's lifecycle rule for `attachments/`).
pub const ATTACHMENT_KEPT_FOR: Millis = 3 * DAY;

/// Where a message's file is kept — a user's, fetched, or an admin's, copied from its
/// upload when sent: under its conversation and message id, so one message has one object
/// whoever writes it and however often.
pub fn message_object_key(phone: &Phone, message_id: &str) -> String {
    format!("media/{phone}/{message_id}")
}

/// Where an admin's attachment is uploaded: under the conversation it was made for, so it
/// can only be sent there.
pub fn attachment_object_key(phone: &Phone, attachment_id: &str) -> String {
    format!("attachments/{phone}/{attachment_id}")
}

/// A file's name as an admin gave it, trimmed: 1 to 240 characters, no control characters
/// and no path separators (it names a download, never a place).
pub fn valid_filename(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_FILENAME_CHARS {
        return Err("filename must be 1 to 240 characters.");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err("filename must not contain control characters or slashes.");
    }
    Ok(name.to_owned())
}

/// WhatsApp's send types for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentKind {
    Image,
    Document,
    Audio,
    Video,
}

impl AttachmentKind {
    /// The message type WhatsApp takes it as.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Document => "document",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Video => "video",
        }
    }

    /// The largest file WhatsApp takes of this kind.
    pub const fn max_bytes(self) -> u64 {
        match self {
            AttachmentKind::Image => 5 * MB,
            AttachmentKind::Document => 100 * MB,
            AttachmentKind::Audio | AttachmentKind::Video => 16 * MB,
        }
    }
}

const MB: u64 = 1024 * 1024;

/// Captions WhatsApp shows under an image, video or document.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// File names we keep and send (WhatsApp shows them on documents).
pub const MAX_FILENAME_CHARS: usize = 240;

/// How long a presigned link to a file works (DESIGN §12: at most 5 minutes): an admin's
/// upload, a download from the page, and the link Meta fetches a file we send from (Meta
/// fetches it while it takes the message, well inside this).
pub const LINK_VALID_FOR: Millis = 5 * MINUTE;

const DOCUMENT_TYPES: [&str; 8] = [
    "application/pdf",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// What WhatsApp takes a file of this type as, or why it refuses it. Parameters other than
/// OGG's codec are ignored (`text/plain; charset=utf-8` is plain text).
pub fn attachment_kind(mime_type: &str) -> Result<AttachmentKind, &'static str> {
    // It becomes a header (the upload's Content-Type): printable ASCII only.
    if !mime_type.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err("mime_type must be printable ASCII, like application/pdf.");
    }
    let lower = mime_type.trim().to_ascii_lowercase();
    let (essence, parameters) = lower.split_once(';').unwrap_or((lower.as_str(), ""));
    let essence = essence.trim();
    match essence {
        "image/jpeg" | "image/png" => Ok(AttachmentKind::Image),
        "audio/aac" | "audio/mp4" | "audio/mpeg" | "audio/amr" => Ok(AttachmentKind::Audio),
        "audio/ogg" => {
            let opus = parameters
                .split(';')
                .any(|p| p.trim().replace(' ', "") == "codecs=opus");
            if opus {
                Ok(AttachmentKind::Audio)
            } else {
                Err("WhatsApp takes OGG audio only with the Opus codec (audio/ogg; codecs=opus).")
            }
        }
        "video/mp4" | "video/3gpp" => Ok(AttachmentKind::Video),
        t if DOCUMENT_TYPES.contains(&t) => Ok(AttachmentKind::Document),
        _ => Err("WhatsApp does not take files of this type: send JPEG or PNG images, PDF, Office or plain-text documents, AAC, MP4, MPEG, AMR or OGG (Opus) audio, or MP4 or 3GPP video."),
    }
}

/// Checks an attachment against WhatsApp's limits before anything is stored or sent.
pub fn check_attachment(
    mime_type: &str,
    size: u64,
    caption: Option<&str>,
) -> Result<AttachmentKind, &'static str> {
    let kind = attachment_kind(mime_type)?;
    if size == 0 {
        return Err("The file is empty.");
    }
    if size > kind.max_bytes() {
        return Err(match kind {
            AttachmentKind::Image => "Images can be at most 5 MB.",
            AttachmentKind::Document => "Documents can be at most 100 MB.",
            AttachmentKind::Audio => "Audio can be at most 16 MB.",
            AttachmentKind::Video => "Videos can be at most 16 MB.",
        });
    }
    match caption {
        Some(_) if kind == AttachmentKind::Audio => {
            Err("WhatsApp shows no caption on audio: send the text as its own message.")
        }
        Some(c) => check_caption(c).map(|()| kind),
        None => Ok(kind),
    }
}

/// A caption's own rule, whatever the file: at most MAX_CAPTION_CHARS once trimmed (a
/// send refuses it before any lookup, as it does a text too long).
pub fn check_caption(caption: &str) -> Result<(), &'static str> {
    if caption.trim().chars().count() > MAX_CAPTION_CHARS {
        Err("A caption can be at most 1024 characters.")
    } else {
        Ok(())
    }
}

/// Whether `actual` (the SHA-256 of the bytes we downloaded) is the digest Meta gave,
/// which comes as base64 or as hex. Anything that is not 32 bytes in either never matches.
pub fn sha256_matches(given: &str, actual: &[u8; 32]) -> bool {
    let given = given.trim();
    let from_hex = (given.len() == 64)
        .then(|| hex::decode(given).ok())
        .flatten();
    let decoded = from_hex.or_else(|| {
        base64::engine::general_purpose::STANDARD
            .decode(given)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(given))
            .ok()
    });
    decoded.is_some_and(|bytes| bytes.as_slice() == actual)
}

/// A failed fetch is tried again after the base wait, doubling each time, at most an hour.
pub const MAX_FETCH_WAIT: Millis = HOUR;
/// Meta keeps a user's file for 7 days: past 6 the fetch is given up.
pub const FETCH_GIVE_UP_AFTER: Millis = 6 * DAY;

/// When the fetch after `attempts` failed ones may run.
pub fn next_fetch_at(base: Millis, attempts: u32, now: Millis) -> Millis {
    let wait = base.saturating_mul(1i64 << attempts.saturating_sub(1).min(30));
    now + wait.min(MAX_FETCH_WAIT)
}

/// Whether a fetch that failed for a passing reason is given up for good: too many tries,
/// or too close to the week after which Meta deletes the file anyway.
pub fn fetch_given_up(attempts: u32, max_attempts: u32, stored_at: Millis, now: Millis) -> bool {
    attempts >= max_attempts || now - stored_at >= FETCH_GIVE_UP_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn whatsapps_types_and_sizes_are_checked() {
        assert_eq!(
            check_attachment("image/jpeg", 5 * MB, None),
            Ok(AttachmentKind::Image)
        );
        assert!(check_attachment("image/jpeg", 5 * MB + 1, None).is_err());
        assert!(check_attachment("image/gif", 10, None).is_err());
        assert_eq!(
            check_attachment("application/pdf", 100 * MB, Some("Timetable")),
            Ok(AttachmentKind::Document)
        );
        assert!(check_attachment("application/pdf", 100 * MB + 1, None).is_err());
        assert!(check_attachment("application/pdf", 0, None).is_err());
        assert_eq!(
            check_attachment("text/plain; charset=utf-8", 3, None),
            Ok(AttachmentKind::Document)
        );
        assert_eq!(
            check_attachment("audio/ogg; codecs=opus", 16 * MB, None),
            Ok(AttachmentKind::Audio)
        );
        assert!(check_attachment("audio/ogg", 10, None).is_err());
        assert!(check_attachment("image/png; a=\n", 10, None).is_err());
        assert!(check_attachment("image/png; a=\u{1}", 10, None).is_err());
        assert!(check_attachment("audio/mpeg", 10, Some("no")).is_err());
        assert_eq!(
            check_attachment("video/3gpp", 16 * MB, Some("clip")),
            Ok(AttachmentKind::Video)
        );
        assert!(check_attachment("video/mp4", 16 * MB + 1, None).is_err());
        let long = "x".repeat(MAX_CAPTION_CHARS + 1);
        assert!(check_attachment("image/png", 10, Some(&long)).is_err());
    }

    #[test]
    fn metas_sha256_is_taken_as_base64_or_hex() {
        let digest: [u8; 32] = Sha256::digest(b"receipt").into();
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(sha256_matches(&b64, &digest));
        assert!(sha256_matches(b64.trim_end_matches('='), &digest));
        assert!(sha256_matches(&hex::encode(digest), &digest));
        assert!(sha256_matches(&hex::encode_upper(digest), &digest));
        let other: [u8; 32] = Sha256::digest(b"something else").into();
        assert!(!sha256_matches(&b64, &other));
        assert!(!sha256_matches("", &digest));
        assert!(!sha256_matches(&hex::encode(&digest[..31]), &digest));
    }

    #[test]
    fn a_filename_names_a_download_never_a_place() {
        assert_eq!(
            valid_filename("  Timetable.pdf "),
            Ok("Timetable.pdf".to_owned())
        );
        for bad in ["", "   ", "../etc/passwd", "a\\b.pdf", "tab\there.pdf"] {
            assert!(valid_filename(bad).is_err(), "{bad:?}");
        }
        assert!(valid_filename(&"x".repeat(241)).is_err());
        assert!(valid_filename(&"é".repeat(240)).is_ok());
    }

    #[test]
    fn an_attachment_is_kept_under_its_own_conversation() {
        let jane = Phone::parse("447700900123").unwrap();
        assert_eq!(
            attachment_object_key(&jane, "01ABC"),
            "attachments/447700900123/01ABC"
        );
        assert_eq!(
            message_object_key(&jane, "01ABC"),
            "media/447700900123/01ABC"
        );
    }

    #[test]
    fn fetch_retries_back_off_to_an_hour_and_give_up_before_meta_deletes() {
        let base = 30_000;
        assert_eq!(next_fetch_at(base, 1, 0), base);
        assert_eq!(next_fetch_at(base, 3, 0), 4 * base);
        assert_eq!(next_fetch_at(base, 40, 0), MAX_FETCH_WAIT);
        assert!(!fetch_given_up(4, 5, 0, DAY));
        assert!(fetch_given_up(5, 5, 0, DAY));
        assert!(fetch_given_up(1, 5, 0, 6 * DAY));
    }

    proptest! {
        #[test]
        fn any_given_digest_text_never_panics(given in "\\PC{0,100}", bytes in any::<[u8; 32]>()) {
            let _ = sha256_matches(&given, &bytes);
        }

        #[test]
        fn any_type_and_size_is_answered_and_accepted_ones_are_within_the_limit(
            mime in "(image|audio|video|application|text)/[a-z.+-]{1,20}(; ?codecs=opus)?",
            size in 0u64..200 * MB,
        ) {
            if let Ok(kind) = check_attachment(&mime, size, None) {
                prop_assert!(size > 0 && size <= kind.max_bytes());
            }
        }
    }
}
