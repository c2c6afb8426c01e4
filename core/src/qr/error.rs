// SPDX-License-Identifier: Apache-2.0
//! The one error type of the QR layer.

/// What went wrong while encoding, decoding or verifying a QR presentation. No variant carries
/// personal data or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not start with the expected prefix (`VL1:`): not a Vistalid QR code, or
    /// a format version this software does not know.
    #[error("not a Vistalid QR code (bad prefix)")]
    BadPrefix,
    /// The text is not valid Base45: a character outside the alphabet, a dangling single
    /// character, or a group whose value overflows.
    #[error("invalid Base45 text")]
    BadBase45,
    /// The zlib stream is corrupt or truncated.
    #[error("invalid zlib compression")]
    BadCompression,
    /// The input, or what it inflates to, is larger than the bound for its stage.
    #[error("input too large")]
    TooLarge,
    /// The bytes are not well-formed CBOR of the expected shape.
    #[error("invalid CBOR")]
    BadCbor,
    /// The CBOR is not a valid COSE_Sign1 structure (wrong tag, arity, header types,
    /// duplicate labels...).
    #[error("invalid COSE_Sign1 structure: {0}")]
    BadCose(&'static str),
    /// The COSE algorithm is not ES256 (-7), the only one supported.
    #[error("unsupported COSE algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// The credential's key id matches none of the trusted issuer keys.
    #[error("credential issuer is not trusted")]
    UnknownIssuer,
    /// The credential was signed by a known issuer key outside that key's window (issue 19):
    /// before the key took over, after it was retired (a stolen retired key), or the key's
    /// trust ended (`not_after` past).
    #[error("credential signed outside its issuer key's validity window")]
    IssuerKeyNotValid,
    /// The issuer's keys could not be fetched (network or server error) while the cache had
    /// to refresh them.
    #[error("the issuer keys could not be fetched")]
    KeysUnavailable,
    /// The issuer's signature on the credential does not verify.
    #[error("credential issuer signature does not verify")]
    BadIssuerSignature,
    /// The device signature on the presentation does not verify with the key the credential
    /// binds (or the key the server holds for it): a copied or forged presentation.
    #[error("presentation device signature does not verify")]
    BadDeviceSignature,
    /// The credential claims are missing, of the wrong type or inconsistent.
    #[error("invalid credential claims: {0}")]
    BadCredential(&'static str),
    /// The presentation claims are missing, of the wrong type or inconsistent.
    #[error("invalid presentation claims: {0}")]
    BadPresentation(&'static str),
    /// The presentation has expired (beyond the allowed clock skew): ask for a fresh QR code.
    #[error("presentation expired")]
    Expired,
    /// The presentation's issued-at lies in the future beyond the allowed clock skew: one of
    /// the two clocks is wrong.
    #[error("presentation not yet valid")]
    NotYetValid,
    /// The credential has expired: the insured must renew it in the app.
    #[error("credential expired")]
    CredentialExpired,
    /// The credential's issued-at lies in the future beyond the allowed clock skew.
    #[error("credential not yet valid")]
    CredentialNotYetValid,
    /// The presentation is addressed to another audience, or to none when one is required.
    #[error("presentation is for another audience")]
    WrongAudience,
    /// Signing failed (the OS random generator failed).
    #[error("signing failed")]
    Signing,
    /// The text does not fit in any QR code version at ECC M.
    #[error("text does not fit in a QR code")]
    QrCapacity,
}
