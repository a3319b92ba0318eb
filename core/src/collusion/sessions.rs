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
use crate::twostep::Variant;
use crate::twostep::code::{PositionCode, SessionCode};

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
