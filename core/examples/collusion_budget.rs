//! How much two-step video catches coalitions: a Monte Carlo run of the Tardos accusation
//! exactly as `filigree detect --ledger` makes it (the real session code, biases and exact
//! Chernoff tails), over leaks built from 2, 3 and 4 colluders' sessions.
//!
//! Read model: a position where every colluder has the same variant is read with
//! probability `READ_RATE` (the rate measured on 720p CRF 28 leaks); where they differ the
//! leak carries one colluder's variant (`interleave`: the pirates splice positions from
//! random copies) or a blend the reader cannot attribute (`average`: scores 0). A colluder is
//! caught once its tail is at most 1e-9 (per innocent: among 10^6 sessions the expected
//! number of innocents accused stays under 10^-3). Run it with
//! `cargo run --release -p filigree --example collusion_budget`; it prints a table.

use std::collections::BTreeMap;

use filigree::Key;
use filigree::collusion::sessions::TardosNull;
use filigree::collusion::tail::tail;
use filigree::twostep::Variant;
use filigree::twostep::code::{PositionCode, SessionCode};

const READ_RATE: f64 = 0.9;
const PER_INNOCENT: f64 = 1e-9;
const TRIALS: usize = 40;
/// Tardos positions read at which the tails are checked.
const CHECKPOINTS: [usize; 12] = [25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600];
/// Seconds of title per position in real packages.
const POSITION_SECONDS: f64 = 2.0;
/// One position in four is a Tardos position (`twostep::code`).
const TARDOS_SHARE: f64 = 0.25;

/// xorshift64* for the simulation's own choices (sessions, reads, pirates' picks).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let key = Key::from_bytes([0xb0; 32]);
    let code = SessionCode::new(&key, 1);
    let last = *CHECKPOINTS.last().unwrap();
    let tardos: Vec<u32> = (0u32..)
        .filter(|&p| matches!(code.position_code(p), PositionCode::Tardos { .. }))
        .take((last as f64 / READ_RATE * 1.3) as usize)
        .collect();
    println!(
        "Tardos accusation of two-step sessions: {TRIALS} coalitions per row, read rate {READ_RATE}, \
         caught at tail <= {PER_INNOCENT:e} per innocent"
    );
    println!(
        "strategy   colluders  Tardos positions read for: first caught (median) / all caught (median, 90th pct)  -> minutes of 2 s positions"
    );
    let mut dice = Dice(0x1234_5678_9abc_def1);
    for strategy in ["interleave", "average"] {
        for colluders in 2..=4usize {
            let mut first = Vec::new();
            let mut all = Vec::new();
            for _ in 0..TRIALS {
                let sessions: Vec<u32> = (0..colluders).map(|_| dice.next() as u32).collect();
                let mut draws: Vec<_> = sessions.iter().map(|&s| code.draws(s)).collect();
                let mut reads: BTreeMap<u32, Vec<Variant>> = BTreeMap::new();
                let (mut first_at, mut all_at) = (None, None);
                let mut checkpoints = CHECKPOINTS.iter().peekable();
                for &p in &tardos {
                    let PositionCode::Tardos { bias } = code.position_code(p) else {
                        unreachable!()
                    };
                    let symbols: Vec<Variant> = draws
                        .iter_mut()
                        .map(|d| Variant::from_bit(d.uniform(p) < bias))
                        .collect();
                    if dice.unit() >= READ_RATE {
                        continue;
                    }
                    let agree = symbols.iter().all(|&s| s == symbols[0]);
                    let seen = if agree {
                        vec![symbols[0]]
                    } else if strategy == "interleave" {
                        vec![symbols[(dice.next() % colluders as u64) as usize]]
                    } else {
                        vec![Variant::A, Variant::B]
                    };
                    reads.insert(p, seen);
                    // Positions read so far, blends included: what the video had to hold.
                    let read = reads.len();
                    if checkpoints.peek().is_some_and(|&&c| read >= c) {
                        checkpoints.next();
                        let null = TardosNull::new(&code, &reads);
                        let caught = sessions
                            .iter()
                            .filter(|&&s| tail(&null, null.score(&code, s)) <= PER_INNOCENT)
                            .count();
                        if caught > 0 && first_at.is_none() {
                            first_at = Some(read);
                        }
                        if caught == colluders {
                            all_at = Some(read);
                            break;
                        }
                    }
                }
                first.push(first_at.unwrap_or(usize::MAX));
                all.push(all_at.unwrap_or(usize::MAX));
            }
            first.sort_unstable();
            all.sort_unstable();
            let show = |n: usize| {
                if n == usize::MAX {
                    format!(">{last}")
                } else {
                    n.to_string()
                }
            };
            let minutes = |n: usize| {
                if n == usize::MAX {
                    "-".to_string()
                } else {
                    format!(
                        "{:.0}",
                        n as f64 / TARDOS_SHARE / READ_RATE * POSITION_SECONDS / 60.0
                    )
                }
            };
            let (f50, a50, a90) = (first[TRIALS / 2], all[TRIALS / 2], all[TRIALS * 9 / 10]);
            println!(
                "{strategy:<10} {colluders:>9}  {:>6} / {:>6}, {:>6}  -> {} / {}, {} min",
                show(f50),
                show(a50),
                show(a90),
                minutes(f50),
                minutes(a50),
                minutes(a90)
            );
        }
    }
}
