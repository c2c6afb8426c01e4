// SPDX-License-Identifier: Apache-2.0
//! The offline code's cost (issue 16): one TOTP (HMAC-SHA256, 8 digits), and the server's
//! check of a typed code against three steps; the wallet's whole `offline_code` is
//! dominated by Argon2id (see the `vault` bench's unlock figures), not by this.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vistalid_core::totp::{self, Step, TotpSecret};

fn codes(c: &mut Criterion) {
    let secret = TotpSecret::new([0x42; 32]);
    let step = Step::of(1_700_000_000).expect("step");
    c.bench_function("totp_code_at", |b| {
        b.iter(|| totp::code_at(black_box(&secret), black_box(step)))
    });
    c.bench_function("totp_check_three_steps", |b| {
        b.iter(|| {
            let mut any = false;
            for s in [step.0 - 1, step.0, step.0 + 1] {
                any |= totp::matches(black_box(&secret), Step(s), black_box("12345678"));
            }
            any
        })
    });
}

criterion_group!(benches, codes);
criterion_main!(benches);
