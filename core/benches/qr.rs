// SPDX-License-Identifier: Apache-2.0
//! QR presentation benchmarks: build + encode + render, verify, and side-by-side choices
//! (matrix: `fast_qr` vs `qrcode`; PNG: our 1-bit writer vs the `png` crate).
//!
//! Run: `cargo bench -p vistalid-core --bench qr -- --warm-up-time 1 --measurement-time 3`.
//! Goals: build + encode + render < 1 ms; verify < 0.5 ms.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use vistalid_core::clock::ManualClock;
use vistalid_core::keys::SigningKey;
use vistalid_core::qr::render::QUIET_ZONE;
use vistalid_core::qr::{
    credential, present, presentation, verify_with_device_key, CredentialClaims,
    PresentationSource, QrMatrix, Verifier, PREFIX,
};

const NOW: i64 = 1_800_000_000;
const PNG_SCALE: usize = 4;

struct Setup {
    issuer: SigningKey,
    device: SigningKey,
    credential: Vec<u8>,
    credential_id: Vec<u8>,
}

fn setup() -> Setup {
    let issuer = SigningKey::make().expect("key");
    let device = SigningKey::make().expect("key");
    let claims = CredentialClaims {
        issuer: "https://vistalid.fr".into(),
        subject: "vl-8f3a2c71e04".into(),
        given_name: "Camille".into(),
        family_name: "Lefèvre".into(),
        credential_id: credential::make_credential_id().expect("rng").to_vec(),
        issued_at: NOW - 86_400,
        expires_at: NOW + 365 * 86_400,
    };
    let credential = credential::issue(&issuer, &claims, &device.public_key()).expect("issue");
    Setup {
        issuer,
        device,
        credential,
        credential_id: claims.credential_id,
    }
}

fn report_sizes(s: &Setup) {
    for (mode, source) in [
        ("online", PresentationSource::Online(&s.credential_id)),
        ("offline", PresentationSource::Offline(&s.credential)),
    ] {
        let text = present(&s.device, source, NOW, 120, None).expect("present");
        let cose = presentation::decode_text(&text, PREFIX).expect("decode");
        let m = QrMatrix::encode(&text).expect("fits");
        eprintln!(
            "size {mode}: COSE {} B, text {} chars, QR version {} ({}x{} modules) at ECC M, \
             PNG {} B at {PNG_SCALE} px/module, SVG {} B",
            cose.len(),
            text.len(),
            m.version(),
            m.size(),
            m.size(),
            m.to_png(PNG_SCALE as u32).len(),
            m.to_svg().len()
        );
    }
    eprintln!("size credential: {} B", s.credential.len());
}

fn bench_present(c: &mut Criterion) {
    let s = setup();
    report_sizes(&s);
    let mut g = c.benchmark_group("present");
    g.bench_function("online_text", |b| {
        b.iter(|| {
            present(
                &s.device,
                PresentationSource::Online(&s.credential_id),
                NOW,
                120,
                None,
            )
        })
    });
    g.bench_function("offline_text", |b| {
        b.iter(|| {
            present(
                &s.device,
                PresentationSource::Offline(&s.credential),
                NOW,
                120,
                None,
            )
        })
    });
    for (name, online) in [("online", true), ("offline", false)] {
        let source = if online {
            PresentationSource::Online(&s.credential_id)
        } else {
            PresentationSource::Offline(&s.credential)
        };
        g.bench_function(format!("{name}_text_matrix_svg"), |b| {
            b.iter(|| {
                let text = present(&s.device, source, NOW, 120, None).expect("present");
                QrMatrix::encode(&text).expect("fits").to_svg()
            })
        });
        g.bench_function(format!("{name}_text_matrix_png"), |b| {
            b.iter(|| {
                let text = present(&s.device, source, NOW, 120, None).expect("present");
                QrMatrix::encode(&text)
                    .expect("fits")
                    .to_png(PNG_SCALE as u32)
            })
        });
        g.bench_function(format!("{name}_text_matrix_terminal"), |b| {
            b.iter(|| {
                let text = present(&s.device, source, NOW, 120, None).expect("present");
                QrMatrix::encode(&text).expect("fits").to_terminal()
            })
        });
    }
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let s = setup();
    let verifier = Verifier::new(vec![s.issuer.public_key()], Arc::new(ManualClock::new(NOW)));
    let offline = present(
        &s.device,
        PresentationSource::Offline(&s.credential),
        NOW,
        120,
        None,
    )
    .expect("present");
    let online = present(
        &s.device,
        PresentationSource::Online(&s.credential_id),
        NOW,
        120,
        None,
    )
    .expect("present");
    let mut g = c.benchmark_group("stages");
    let cose = presentation::decode_text(&offline, PREFIX).expect("decode");
    let online_cose = presentation::decode_text(&online, PREFIX).expect("decode");
    g.bench_function("zlib_try_offline", |b| {
        b.iter(|| vistalid_core::qr::zlib::deflate_if_smaller(black_box(&cose)).len())
    });
    g.bench_function("zlib_try_online", |b| {
        b.iter(|| vistalid_core::qr::zlib::deflate_if_smaller(black_box(&online_cose)).len())
    });
    for level in [1u8, 6, 9] {
        g.bench_function(format!("zlib_level_{level}"), |b| {
            b.iter(|| miniz_oxide::deflate::compress_to_vec_zlib(black_box(&cose), level).len())
        });
    }
    g.bench_function("base45_encode_offline", |b| {
        b.iter(|| vistalid_core::qr::base45::encode(black_box(&cose)))
    });
    g.bench_function("decode_text_offline", |b| {
        b.iter(|| presentation::decode_text(black_box(&offline), PREFIX).expect("ok"))
    });
    g.finish();
    let mut g = c.benchmark_group("verify");
    g.bench_function("offline_full", |b| {
        b.iter(|| verifier.verify(black_box(&offline)).expect("ok"))
    });
    g.bench_function("online_structure_time", |b| {
        b.iter(|| verifier.verify(black_box(&online)).expect("ok"))
    });
    let device_key = s.device.public_key();
    g.bench_function("online_server_with_device_key", |b| {
        b.iter(|| verify_with_device_key(black_box(&online), &device_key, NOW).expect("ok"))
    });
    g.finish();
}

fn bench_matrix(c: &mut Criterion) {
    let s = setup();
    let mut g = c.benchmark_group("matrix");
    for (name, source) in [
        ("online", PresentationSource::Online(&s.credential_id)),
        ("offline", PresentationSource::Offline(&s.credential)),
    ] {
        let text = present(&s.device, source, NOW, 120, None).expect("present");
        g.bench_function(format!("fast_qr_{name}"), |b| {
            b.iter(|| QrMatrix::encode(black_box(&text)).expect("fits"))
        });
        g.bench_function(format!("qrcode_{name}"), |b| {
            b.iter(|| {
                qrcode::QrCode::with_error_correction_level(
                    black_box(text.as_bytes()),
                    qrcode::EcLevel::M,
                )
                .expect("fits")
                .to_colors()
            })
        });
        // Ours never needs a larger symbol than the reference (it may need a smaller one: at
        // a version boundary the two segment the text differently; seen: 69 vs 73 modules).
        let ours = QrMatrix::encode(&text).expect("fits");
        let theirs =
            qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
                .expect("fits");
        assert!(
            ours.size() <= theirs.width(),
            "{name}: ours {} modules, the reference {}",
            ours.size(),
            theirs.width()
        );
    }
    g.finish();
}

/// The same 1-bit image through the `png` crate, for comparison with `QrMatrix::to_png`.
fn png_crate(m: &QrMatrix) -> Vec<u8> {
    let side = (m.size() + 2 * QUIET_ZONE) * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0u8; row_bytes * side];
    for py in 0..side {
        for px in 0..side {
            let (x, y) = (px / PNG_SCALE, py / PNG_SCALE);
            let dark =
                x >= QUIET_ZONE && y >= QUIET_ZONE && m.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
            if !dark {
                data[py * row_bytes + px / 8] |= 0x80 >> (px % 8);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&data).expect("data");
    w.finish().expect("finish");
    out
}

fn bench_png(c: &mut Criterion) {
    let s = setup();
    let text = present(
        &s.device,
        PresentationSource::Offline(&s.credential),
        NOW,
        120,
        None,
    )
    .expect("present");
    let m = QrMatrix::encode(&text).expect("fits");
    eprintln!(
        "png offline v{}: ours {} B, png crate {} B",
        m.version(),
        m.to_png(PNG_SCALE as u32).len(),
        png_crate(&m).len()
    );
    let mut g = c.benchmark_group("png");
    g.bench_function("ours_miniz_1bit", |b| {
        b.iter(|| black_box(&m).to_png(PNG_SCALE as u32))
    });
    g.bench_function("png_crate_1bit", |b| b.iter(|| png_crate(black_box(&m))));
    g.bench_function("svg", |b| b.iter(|| black_box(&m).to_svg()));
    g.bench_function("terminal", |b| b.iter(|| black_box(&m).to_terminal()));
    g.finish();
}

criterion_group!(
    benches,
    bench_present,
    bench_verify,
    bench_matrix,
    bench_png
);
criterion_main!(benches);
