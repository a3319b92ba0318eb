//! Scoring two-step sessions on a leak's Tardos positions (symmetric Tardos scoring).
//!
//! At a Tardos position with bias `b`, read as one variant `y` (B with probability
//! `p = b`, A with `p = 1 - b` for an innocent), a session served `y` scores
//! `+sqrt((1 - p) / p)` and one served the other variant `-sqrt(p / (1 - p))`; positions read
//! as both variants (averaged copies) or not read score 0. Colluders' symbols agree wherever
//! the leak could only carry theirs, and rare symbols weigh most, so every colluder's score
//! grows linearly with the positions read, while an innocent's has mean 0 and variance 1 per
//! position. An innocent session's symbols are independent draws with the known biases
//! whatever the leak holds (`twostep::code`), so its score's null is a product of
//! two-point distributions, exactly, and [`super::tail`] bounds it.

use std::collections::BTreeMap;

use crate::collusion::tail::NullScore;
use crate::variant::Variant;
use crate::variant::code::{PositionCode, SessionCode};

/// One Tardos position read as a single variant.
#[derive(Debug, Clone, Copy)]
struct Term {
    position: u32,
    read: Variant,
    /// An innocent's chance of having the read variant there.
    p: f64,
}

impl Term {
    fn score(&self, served: Variant) -> f64 {
        if served == self.read {
            ((1.0 - self.p) / self.p).sqrt()
        } else {
            -(self.p / (1.0 - self.p)).sqrt()
        }
    }
}

/// The Tardos positions of one title's leak, with the exact null of an innocent's score.
#[derive(Debug, Clone)]
pub struct TardosNull {
    terms: Vec<Term>,
    max_score: f64,
}

impl TardosNull {
    /// The Tardos positions among `positions` (each with the variants read there) read as
    /// exactly one variant.
    pub fn new(code: &SessionCode, positions: &BTreeMap<u32, Vec<Variant>>) -> TardosNull {
        let terms: Vec<Term> = positions
            .iter()
            .filter_map(
                |(&position, seen)| match (seen.as_slice(), code.position_code(position)) {
                    (&[read], PositionCode::Tardos { bias }) => Some(Term {
                        position,
                        read,
                        p: if read.bit() { bias } else { 1.0 - bias },
                    }),
                    _ => None,
                },
            )
            .collect();
        TardosNull {
            max_score: terms.iter().map(|t| t.score(t.read)).sum(),
            terms,
        }
    }

    /// Tardos positions that count (read as exactly one variant).
    pub fn positions(&self) -> usize {
        self.terms.len()
    }

    /// The score of `session`.
    pub fn score(&self, code: &SessionCode, session: u32) -> f64 {
        let mut draws = code.draws(session);
        self.terms
            .iter()
            .map(|t| {
                let bias = if t.read.bit() { t.p } else { 1.0 - t.p };
                t.score(Variant::from_bit(draws.uniform(t.position) < bias))
            })
            .sum()
    }
}

impl NullScore for TardosNull {
    fn log_mgf(&self, lambda: f64) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                let hit = t.p.ln() + lambda * t.score(t.read);
                let miss = (1.0 - t.p).ln() + lambda * t.score(Variant::from_bit(!t.read.bit()));
                let (hi, lo) = if hit > miss { (hit, miss) } else { (miss, hit) };
                hi + (lo - hi).exp().ln_1p()
            })
            .sum()
    }

    fn max_score(&self) -> f64 {
        self.max_score
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collusion::accuse;
    use crate::key::Key;

    #[test]
    fn interleaved_reads_of_two_sessions_accuse_both_and_no_innocent() {
        let code = SessionCode::new(&Key::from_bytes([4; 32]), 2);
        let colluders = [0xaaaa_0001u32, 0x5555_0002];
        let mut reads: BTreeMap<u32, Vec<Variant>> = BTreeMap::new();
        for position in 0..3000 {
            let seen: Vec<Variant> = colluders
                .iter()
                .map(|&s| code.variant(s, position))
                .collect();
            // Where they differ, the pirates take the copies in turn.
            reads.insert(position, vec![seen[position as usize % 2]]);
        }
        let null = TardosNull::new(&code, &reads);
        assert!(
            (600..900).contains(&null.positions()),
            "{}",
            null.positions()
        );
        let innocents = 0..10_000u32;
        let scores = innocents
            .map(|s| (s, null.score(&code, s)))
            .chain(colluders.iter().map(|&s| (s, null.score(&code, s))));
        let accused = accuse(&null, scores, 1e-9 / 10_002.0);
        let mut ids: Vec<u32> = accused.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![0x5555_0002, 0xaaaa_0001]);
        // A session's score agrees with the variants it is served.
        let own = reads
            .iter()
            .filter(|(p, v)| code.variant(colluders[0], **p) == v[0])
            .count();
        assert!(own > reads.len() / 2);
    }
}
