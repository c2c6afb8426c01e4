// SPDX-License-Identifier: Apache-2.0
//! Scan mode of the browser login (issue 16, docs/scan-mode.md): the attempt's fresh 128-bit
//! secret, and the QR code its waiting page shows.
//!
//! Guarantees:
//! - The secret is drawn from the OS CSPRNG once per attempt (at the authorization request
//!   for a client registered for scan mode, or when the user asks for it on the page) and
//!   kept for the attempt's lifetime; it is never logged, never in a URL, never in the
//!   challenge a device fetches (which names only the attempt).
//! - The QR code is core's renderer's SVG, inline in the page (no script, no style
//!   attribute: the pages' CSP holds), with a text alternative.

use std::sync::Arc;

use vistalid_core::qr::render::QrMatrix;
use vistalid_core::scan::{self, ScanPayload, ScanSecret, SECRET_LEN};

use crate::api::ApiError;
use crate::secrets;
use crate::store::Attempt;

/// A fresh 128-bit secret for an attempt's QR code.
pub(super) fn new_secret() -> Result<Arc<ScanSecret>, ApiError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_LEN]);
    secrets::fill(bytes.as_mut())?;
    Ok(Arc::new(ScanSecret::new(*bytes)))
}

/// The QR code of attempt `a` as inline SVG markup labelled `label` (already escaped by the
/// caller's catalogue), when `a` is in scan mode and the issuer has an origin.
pub(super) fn qr_svg(issuer: &str, a: &Attempt, label: &str) -> Option<String> {
    let secret = a.scan_secret.as_ref()?;
    let origin = scan::origin_of(issuer)?;
    let payload = ScanPayload {
        origin,
        attempt_id: a.id.clone(),
        // EXPOSE: copied into the payload whose text the page's QR code shows.
        secret: ScanSecret::new(*secret.expose()),
    };
    let text = payload.to_text();
    let matrix = QrMatrix::encode(&text).ok()?;
    let svg = matrix.to_svg();
    // The renderer's `<svg ...>` gets an accessible name and the page's class.
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-labelledby=\"scan-qr-title\" class=\"scan-qr\" id=\"scan-qr\" data-version=\"{}\" ", matrix.version()),
        1,
    );
    let svg = match svg.find('>') {
        Some(end) => format!(
            "{}<title id=\"scan-qr-title\">{label}</title>{}",
            &svg[..=end],
            &svg[end + 1..]
        ),
        None => return None,
    };
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "ScanSecret(***)");
    }
}
