// SPDX-License-Identifier: Apache-2.0
//! Argon2id and vault unlock timings, every comparison interleaved in one loop so that load
//! from other processes hits all sides alike (this machine is shared). Prints medians and
//! ratios; `cargo bench -p vistalid-core --bench vault`.
//!
//! 1. Argon2id at m = 64 MiB, t = 3 and p = 1, 2, 4: the vault's `Argon2Kdf` (RustCrypto
//!    `argon2` 0.6 with its lanes on a pool of min(p, cores) threads, memory reused, wiped
//!    after each hash) against the C reference (PHC `phc-winner-argon2`, SIMD `opt.c` built
//!    with `-march=native`, through `argon2-sys`: p threads, memory allocated, wiped and freed
//!    per call) and the `argon2` 0.5 crate the vault used before (lanes one after the other,
//!    memory reused, not wiped). Goal: ours / C <= 1.1 at every p.
//! 2. Vault unlock against the `Argon2Kdf` hash it runs, at the product parameters
//!    ([`Argon2Params::DEFAULT`]). Goal: overhead <= 5 %.
//!
//! `VL_BENCH_ROUNDS` sets the rounds (default 15). `VL_BENCH_GRID=1` also times the
//! `Argon2Kdf` over a grid of (m, t, p), the measurements behind the product parameters
//! (docs/argon2-parameters.md).
#![allow(missing_docs)]
// The C reference is called through its raw FFI; each call is commented below.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2_05::{Algorithm, Argon2, Block, Params, Version};
use vistalid_core::keystore::MemoryKeystore;
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Kdf, Argon2Params, Vault, VaultConfig};

const PIN: &str = "482915";
const SALT: [u8; 16] = [7u8; 16];
const MIB: u32 = 1024;

fn ours(kdf: &mut Argon2Kdf, p: &Argon2Params) -> [u8; 32] {
    let mut out = [0u8; 32];
    kdf.derive(p, PIN.as_bytes(), &SALT, None, &[], &mut out)
        .expect("hash");
    out
}

fn argon2_05(p: &Argon2Params, memory: &mut Vec<Block>) -> [u8; 32] {
    let params = Params::new(p.m_kib, p.t, p.p, Some(32)).expect("params");
    memory.resize(params.block_count(), Block::new());
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(PIN.as_bytes(), &SALT, &mut out, &mut memory[..])
        .expect("hash");
    out
}

fn c_reference(p: &Argon2Params) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: every pointer is valid for the length passed with it for the whole call, the
    // output buffer is writable and 32 bytes long, and the C function keeps no pointer.
    let rc = unsafe {
        argon2_sys::argon2id_hash_raw(
            p.t,
            p.m_kib,
            p.p,
            PIN.as_ptr().cast(),
            PIN.len(),
            SALT.as_ptr().cast(),
            SALT.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    assert_eq!(rc, 0, "argon2id_hash_raw failed");
    out
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let t = Instant::now();
    black_box(f());
    t.elapsed()
}

/// CPU time used so far by the whole process, all threads (also those that have ended).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(
        u64::try_from(ts.tv_sec).expect("non-negative"),
        u32::try_from(ts.tv_nsec).expect("below one second"),
    )
}

/// Wall time and process CPU time of `f`. CPU time hardly depends on how loaded the machine
/// is; on an idle machine the wall time of a parallel hash tends to CPU / threads.
fn time_cpu<T>(f: impl FnOnce() -> T) -> (Duration, Duration) {
    let c = process_cpu();
    let wall = time(f);
    (wall, process_cpu() - c)
}

/// Median, and the 25th and 75th percentiles, in ms.
fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let n = v.len();
    (ms(v[n / 2]), ms(v[n / 4]), ms(v[(3 * n) / 4]))
}

fn rounds() -> usize {
    std::env::var("VL_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

/// Ours, the C reference and argon2 0.5 at p = 1, 2, 4, interleaved (the order rotates each
/// round so that none always runs first).
fn rust_vs_c(rounds: usize) {
    let mut kdf = Argon2Kdf::new();
    let mut memory = Vec::new();
    let ps = [1u32, 2, 4];
    let mut times = vec![[Vec::new(), Vec::new(), Vec::new()]; ps.len()];
    let mut cpu = vec![[Vec::new(), Vec::new(), Vec::new()]; ps.len()];
    for &p in &ps {
        let params = Argon2Params {
            m_kib: 64 * MIB,
            t: 3,
            p,
        };
        let c = c_reference(&params);
        assert_eq!(ours(&mut kdf, &params), c, "same Argon2id output as C");
        assert_eq!(argon2_05(&params, &mut memory), c, "argon2 0.5 agrees");
    }
    for round in 0..rounds {
        for (i, &p) in ps.iter().enumerate() {
            let params = Argon2Params {
                m_kib: 64 * MIB,
                t: 3,
                p,
            };
            for k in 0..3 {
                let which = (round + k) % 3;
                let (wall, used) = match which {
                    0 => time_cpu(|| ours(&mut kdf, &params)),
                    1 => time_cpu(|| c_reference(&params)),
                    _ => time_cpu(|| argon2_05(&params, &mut memory)),
                };
                times[i][which].push(wall);
                cpu[i][which].push(used);
            }
        }
    }
    println!(
        "Argon2id m=64 MiB t=3, {rounds} interleaved rounds, {} cores: median wall ms \
         [p25-p75] (median process CPU ms)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for (i, &p) in ps.iter().enumerate() {
        let [o, c, r] = times[i].clone().map(stats);
        let [oc, cc, rc] = cpu[i].clone().map(|v| stats(v).0);
        println!(
            "  p={p}: ours {:.1} [{:.1}-{:.1}] ({oc:.1}), C reference {:.1} [{:.1}-{:.1}] \
             ({cc:.1}), argon2 0.5 {:.1} [{:.1}-{:.1}] ({rc:.1}); wall ours/C {:.2}x, argon2 \
             0.5/C {:.2}x; CPU ours/C {:.2}x",
            o.0,
            o.1,
            o.2,
            c.0,
            c.1,
            c.2,
            r.0,
            r.1,
            r.2,
            o.0 / c.0,
            r.0 / c.0,
            oc / cc
        );
    }
}

/// Unlock and the `Argon2Kdf` hash it runs, alternated in one loop; prints both medians and
/// the overhead, with the cost of one crash-safe file write for scale.
fn unlock_overhead(rounds: usize) {
    let p = Argon2Params::DEFAULT;
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = VaultConfig {
        backoff: false,
        ..VaultConfig::default()
    };
    let vault = Vault::create(
        tmp.path(),
        Arc::new(MemoryKeystore::new()),
        config,
        &Pin::new(PIN),
    )
    .expect("create");
    let mut kdf = Argon2Kdf::new();
    let (mut unlock, mut raw, mut write, mut read) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        write.push(time(|| {
            vault.set_device_state(b"one durable write").expect("write")
        }));
        read.push(time(|| vault.attempts_left().expect("read")));
        let u = || time(|| vault.unlock(&Pin::new(PIN)).expect("unlock"));
        if round % 2 == 0 {
            unlock.push(u());
            raw.push(time(|| ours(&mut kdf, &p)));
        } else {
            raw.push(time(|| ours(&mut kdf, &p)));
            unlock.push(u());
        }
    }
    let (u, r, w) = (stats(unlock).0, stats(raw).0, stats(write).0);
    let h = stats(read).0;
    println!(
        "vault unlock vs its Argon2Kdf hash (m={} MiB t={} p={}), {rounds} interleaved rounds: \
         unlock median {u:.2} ms, Argon2 median {r:.2} ms, overhead {:+.1} % (for scale: one \
         crash-safe file write, as the counter reset after a good PIN, {w:.2} ms; reading and \
         authenticating the header and counter, with one keystore PRF, {h:.3} ms)",
        p.m_kib / MIB,
        p.t,
        p.p,
        (u / r - 1.0) * 100.0
    );
}

/// The `Argon2Kdf` over (m, t, p), interleaved: what each choice costs here.
fn grid(rounds: usize) {
    let mut kdf = Argon2Kdf::new();
    let mut cells = Vec::new();
    for m in [32, 64, 128, 256] {
        for t in [1, 2, 3, 4] {
            for p in [1, 2, 4] {
                cells.push((
                    Argon2Params {
                        m_kib: m * MIB,
                        t,
                        p,
                    },
                    Vec::new(),
                ));
            }
        }
    }
    let rounds = rounds.clamp(3, 7);
    for _ in 0..rounds {
        for (params, times) in cells.iter_mut() {
            times.push(time(|| ours(&mut kdf, params)));
        }
    }
    println!("Argon2Kdf grid, {rounds} interleaved rounds: median ms (MiB x passes)");
    for (params, times) in cells {
        let ms = stats(times).0;
        println!(
            "  m={:>3} MiB t={} p={}: {ms:7.1} ms ({:.0} MiB-passes/s)",
            params.m_kib / MIB,
            params.t,
            params.p,
            f64::from(params.m_kib / MIB * params.t) / ms * 1e3
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes nothing and only
    // checks that this builds and the outputs agree.
    if !std::env::args().any(|a| a == "--bench") {
        let p = Argon2Params {
            m_kib: 256,
            t: 2,
            p: 2,
        };
        assert_eq!(ours(&mut Argon2Kdf::new(), &p), c_reference(&p));
        return;
    }
    let rounds = rounds();
    rust_vs_c(rounds);
    unlock_overhead(rounds);
    if std::env::var_os("VL_BENCH_GRID").is_some() {
        grid(rounds);
    }
}
