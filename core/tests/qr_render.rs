// SPDX-License-Identifier: Apache-2.0
//! The PNG we render decodes, with an independent QR decoder, back to exactly the text
//! encoded; SVG and terminal renderings agree with the matrix.

mod qr_common;

use vistalid_core::keys::SigningKey;
use vistalid_core::qr::render::QUIET_ZONE;
use vistalid_core::qr::{credential, present, CredentialClaims, PresentationSource, QrMatrix};

fn texts() -> Vec<String> {
    let issuer = SigningKey::make().expect("key");
    let device = SigningKey::make().expect("key");
    let claims = CredentialClaims {
        issuer: "https://vistalid.fr".into(),
        subject: "vl-8f3a2c71e04".into(),
        given_name: "Camille".into(),
        family_name: "Lefèvre".into(),
        credential_id: credential::make_credential_id().expect("rng").to_vec(),
        issued_at: 1_800_000_000,
        expires_at: 1_900_000_000,
    };
    let cred = credential::issue(&issuer, &claims, &device.public_key()).expect("issue");
    vec![
        present(
            &device,
            PresentationSource::Online(&claims.credential_id),
            1_800_000_000,
            120,
            None,
        )
        .expect("online"),
        present(
            &device,
            PresentationSource::Offline(&cred),
            1_800_000_000,
            120,
            None,
        )
        .expect("offline"),
        "VL1:SHORT".into(),
    ]
}

#[test]
fn png_decodes_back_to_the_exact_text() {
    for text in texts() {
        let m = QrMatrix::encode(&text).expect("fits");
        for scale in [2, 4] {
            let png = m.to_png(scale);
            let scanned = qr_common::scan_png(&png).expect("rqrr reads our PNG");
            assert_eq!(scanned.text, text);
            assert_eq!(scanned.version, usize::from(m.version()));
            assert_eq!(scanned.ecc_format_bits, 0, "ECC level M");
        }
    }
}

#[test]
fn png_has_the_quiet_zone_and_expected_size() {
    let m = QrMatrix::encode("VL1:ABC").expect("fits");
    let png = m.to_png(3);
    let decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
    let reader = decoder.read_info().expect("valid PNG");
    let side = (m.size() + 2 * QUIET_ZONE) as u32 * 3;
    assert_eq!(reader.info().size(), (side, side));
    assert_eq!(reader.info().bit_depth, png::BitDepth::One);
}

#[test]
fn svg_and_terminal_match_the_matrix() {
    let m = QrMatrix::encode("VL1:HELLO WORLD").expect("fits");
    let n = m.size() + 2 * QUIET_ZONE;
    // Terminal: rebuild the matrix from half blocks.
    let term = m.to_terminal();
    for (line_no, line) in term.lines().enumerate() {
        for (x, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?}"),
            };
            for (dy, want) in [(0, top), (1, bottom)] {
                let y = 2 * line_no + dy;
                if y >= n {
                    continue;
                }
                let dark =
                    x >= QUIET_ZONE && y >= QUIET_ZONE && m.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
                assert_eq!(dark, want, "module {x},{y}");
            }
        }
    }
    let inverted = m.to_terminal_inverted();
    assert_eq!(inverted.lines().count(), term.lines().count());
    assert!(inverted
        .lines()
        .next()
        .expect("line")
        .chars()
        .all(|c| c == '█'));
    // SVG: the dark area equals the number of dark modules.
    let svg = m.to_svg();
    let dark_modules: usize = (0..m.size())
        .flat_map(|y| (0..m.size()).map(move |x| (x, y)))
        .filter(|(x, y)| m.is_dark(*x, *y))
        .count();
    let d = svg.split(" d=\"").nth(1).expect("path data");
    let area: usize = d
        .split('h')
        .skip(1)
        .filter(|s| !s.starts_with('-'))
        .map(|s| {
            s.split('v')
                .next()
                .expect("run")
                .parse::<usize>()
                .expect("number")
        })
        .sum();
    assert_eq!(area, dark_modules);
}
