//! Scoring single-step recipients against a registered leak's soft chips.
//!
//! A recipient's score is the correlation of the leak's soft chip values (after sync, before
//! Viterbi decoding) with the recipient's codeword as ±1. A copy that went into the leak,
//! alone, averaged with others or spliced with them, pulls the chips towards its codeword;
//! an innocent's codeword is, thanks to the payload's keyed scrambling, the code's encoding
//! of information bits that are uniform and independent of everything in the leak. So the
//! distribution of an innocent's score *given this leak* is known exactly (a sum over the
//! code's trellis, [`PayloadCodec::null_log_mgf`]) and [`super::tail`] bounds it with no
//! approximation beyond modelling HMAC-SHA256 as a pseudorandom function.

use crate::collusion::tail::NullScore;
use crate::collusion::{Accused, accuse};
use crate::key::Key;
use crate::payload::PayloadCodec;
use crate::scheme::{KeyedScheme, Payload};

/// A leak's soft chips, normalised, with the exact null of every innocent's score.
#[derive(Debug, Clone)]
pub struct ChipNull {
    codec: PayloadCodec,
    /// Soft chip values scaled to unit mean square (erasures as 0).
    weights: Vec<f64>,
    max_score: f64,
}

impl ChipNull {
    /// The null for soft chips `soft` (one per coded bit of `codec`).
    pub fn new(codec: PayloadCodec, soft: &[f32]) -> ChipNull {
        let raw: Vec<f64> = soft
            .iter()
            .map(|&s| if s.is_finite() { s as f64 } else { 0.0 })
            .collect();
        let mean_square = raw.iter().map(|w| w * w).sum::<f64>() / raw.len().max(1) as f64;
        let scale = if mean_square > 0.0 {
            mean_square.sqrt().recip()
        } else {
            0.0
        };
        let weights: Vec<f64> = raw.iter().map(|w| w * scale).collect();
        ChipNull {
            codec,
            max_score: weights.iter().map(|w| w.abs()).sum(),
            weights,
        }
    }

    /// The score of a codeword (coded bits, `true` = +1).
    pub fn score(&self, coded: &[bool]) -> f64 {
        coded
            .iter()
            .zip(&self.weights)
            .map(|(&bit, &w)| if bit { w } else { -w })
            .sum()
    }
}

impl NullScore for ChipNull {
    fn log_mgf(&self, lambda: f64) -> f64 {
        self.codec.null_log_mgf(&self.weights, lambda)
    }

    fn max_score(&self) -> f64 {
        self.max_score
    }
}

/// The codewords of the issued single-step recipients under one key, computed once per
/// detection and scored against every registration and window.
#[derive(Debug, Clone, Default)]
pub struct IssuedCodewords {
    codewords: Vec<(u32, Vec<bool>)>,
}

impl IssuedCodewords {
    /// The codewords of `recipients` under `key`.
    pub fn new(key: &Key, recipients: &[u32]) -> IssuedCodewords {
        let scheme = KeyedScheme::new(key);
        IssuedCodewords {
            codewords: recipients
                .iter()
                .map(|&id| (id, scheme.encode(Payload::Recipient(id))))
                .collect(),
        }
    }

    /// Number of issued recipients.
    pub fn len(&self) -> usize {
        self.codewords.len()
    }

    /// Whether no recipient was issued (nothing to score).
    pub fn is_empty(&self) -> bool {
        self.codewords.is_empty()
    }

    /// Everyone issued whose score against `soft` has a tail of at most `max_tail`.
    pub fn accuse(&self, codec: PayloadCodec, soft: &[f32], max_tail: f64) -> Vec<Accused> {
        if self.codewords.is_empty() {
            return Vec::new();
        }
        let null = ChipNull::new(codec, soft);
        let scores = self
            .codewords
            .iter()
            .map(|(id, coded)| (*id, null.score(coded)));
        accuse(&null, scores, max_tail)
    }
}
