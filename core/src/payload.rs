//! Payload framing and error-correcting code.
//!
//! A watermark payload is a recipient ID of `id_bits` bits followed by a keyed integrity tag of
//! [`TAG_BITS`] bits, protected by a convolutional code and decoded with a soft-decision
//! Viterbi decoder.
//!
//! * The code is the classic constraint-length 7, rate 1/3 convolutional code (generators 133,
//!   171, 165 octal), the NASA/Voyager-style family: free distance 15, cheap to decode exactly
//!   (64 trellis states) and well understood at low signal-to-noise ratios. It is zero-tail
//!   terminated, so the decoder knows the final state and the last bits are protected as well
//!   as the first.
//! * The detector measures each coded bit as a correlation, not a yes/no answer. Feeding those
//!   confidences to the Viterbi decoder (soft decisions) gains about 2 dB over slicing them to
//!   bits first, which is a large part of the robustness budget.
//! * The information bits are scrambled by a keyed permutation (a four-round Feistel network
//!   over their two halves, HMAC round functions) before coding. Without it, recipients 42
//!   and 43 would share most of their coded bits; with it, every recipient's codeword is the
//!   code's encoding of a pseudorandom 64-bit string. That is what lets collusion scoring
//!   (`collusion::chips`) bound an innocent recipient's score exactly: whoever colluded, an
//!   innocent's information bits are uniform and independent of the leak.
//! * The tag turns a decoding failure into "no watermark". The decoder always produces *some*
//!   maximum-likelihood bit string; only a string whose tag matches the HMAC recomputed with
//!   the caller's key is reported, so a wrong guess is never presented as a recipient.
//!
//! # False positives
//!
//! On unmarked content, or content marked under another key, the decoded information bits are
//! effectively random with respect to the tag key, so the decoded tag equals the recomputed one
//! with probability 2^-32 (about 2.3e-10) per decode. A detector that tries `n` candidate
//! alignments or segments decodes `n` times, so its false-positive probability is at most
//! `n * 2^-32` (union bound) and must be reported as such.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Length of the keyed integrity tag in bits. A random decode passes it with probability
/// 2^-32, which bounds the false-positive rate of a single decode (see the module docs).
pub const TAG_BITS: usize = 32;

/// Constraint length K: the encoder remembers the previous K-1 input bits.
const CONSTRAINT_LENGTH: usize = 7;

/// Number of encoder memory bits, which is also the number of zero tail bits.
const MEMORY: usize = CONSTRAINT_LENGTH - 1;

/// Number of trellis states (2^(K-1)).
const STATES: usize = 1 << MEMORY;

/// Generator polynomials in the textbook octal notation: the most significant of the 7 taps
/// is the current input bit, the least significant the oldest remembered bit.
const GENERATORS: [u8; 3] = [0o133, 0o171, 0o165];

/// Coded bits per information bit (rate 1/3).
const RATE_INV: usize = GENERATORS.len();

/// Domain-separation label for the integrity tag HMAC.
const TAG_LABEL: &[u8] = b"filigree/v1/id";

/// Domain-separation label for the round functions of the information-bit permutation.
const SCRAMBLE_LABEL: &[u8] = b"filigree/v1/scramble";

/// Feistel rounds of the permutation: four make it indistinguishable from a random
/// permutation (Luby-Rackoff), each half is changed twice.
const SCRAMBLE_ROUNDS: u8 = 4;

/// `OUTPUTS[(state << 1) | bit]`: the three coded bits (bit j = generator j) emitted when
/// `bit` enters the encoder in `state`.
const OUTPUTS: [u8; 2 * STATES] = build_outputs();

const fn build_outputs() -> [u8; 2 * STATES] {
    let mut table = [0u8; 2 * STATES];
    let mut state = 0;
    while state < STATES {
        let mut bit = 0;
        while bit < 2 {
            let register = (bit << MEMORY) | state;
            let mut out = 0u8;
            let mut j = 0;
            while j < RATE_INV {
                out |= ((register as u8 & GENERATORS[j]).count_ones() as u8 & 1) << j;
                j += 1;
            }
            table[(state << 1) | bit] = out;
            bit += 1;
        }
        state += 1;
    }
    table
}

/// State after `bit` enters the encoder in `state`: the newest bit sits in the top state bit.
fn next_state(state: usize, bit: bool) -> usize {
    ((bit as usize) << (MEMORY - 1)) | (state >> 1)
}

/// Frames recipient IDs with an integrity tag and protects them with the K=7, r=1/3 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadCodec {
    id_bits: usize,
}

impl PayloadCodec {
    /// A codec for IDs of `id_bits` bits.
    ///
    /// # Panics
    ///
    /// If `id_bits` is not in `1..=64`.
    pub fn new(id_bits: usize) -> PayloadCodec {
        assert!(
            (1..=64).contains(&id_bits),
            "recipient IDs must have 1 to 64 bits, got {id_bits}"
        );
        PayloadCodec { id_bits }
    }

    /// Width of the recipient ID in bits.
    pub fn id_bits(&self) -> usize {
        self.id_bits
    }

    /// Number of information bits: the ID followed by the tag.
    pub fn info_len(&self) -> usize {
        self.id_bits + TAG_BITS
    }

    /// Number of coded bits: 3 per information or tail bit (210 for 32-bit IDs).
    pub fn coded_len(&self) -> usize {
        RATE_INV * (self.info_len() + MEMORY)
    }

    /// The 32-bit integrity tag of `id`: the first 4 bytes of
    /// HMAC-SHA256(tag_key, "filigree/v1/id" || id_bits as u8 || id as u64 little-endian),
    /// read as a little-endian integer.
    fn tag(&self, tag_key: &[u8; 32], id: u64) -> u32 {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(tag_key)
            .expect("HMAC accepts keys of any length");
        mac.update(TAG_LABEL);
        mac.update(&[self.id_bits as u8]);
        mac.update(&id.to_le_bytes());
        let digest = mac.finalize().into_bytes();
        u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    fn fits(&self, id: u64) -> bool {
        self.id_bits == 64 || id >> self.id_bits == 0
    }

    /// Widths of the permutation's halves: the low half, then the high half.
    fn halves(&self) -> (usize, usize) {
        let low = self.info_len() / 2;
        (low, self.info_len() - low)
    }

    /// Round `round` of the permutation: the first 8 bytes of
    /// HMAC-SHA256(tag_key, "filigree/v1/scramble" || id_bits || round || half as u64 LE),
    /// cut to `width` bits.
    fn round_function(&self, tag_key: &[u8; 32], round: u8, half: u64, width: usize) -> u64 {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(tag_key)
            .expect("HMAC accepts keys of any length");
        mac.update(SCRAMBLE_LABEL);
        mac.update(&[self.id_bits as u8, round]);
        mac.update(&half.to_le_bytes());
        let digest = mac.finalize().into_bytes();
        let word = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        word & low_mask(width)
    }

    /// The keyed permutation of the `info_len` information bits (ID in the low bits, the tag
    /// above it). Even rounds change the low half from the high one, odd rounds the reverse.
    fn scramble(&self, tag_key: &[u8; 32], info: u128) -> u128 {
        let (low_bits, high_bits) = self.halves();
        let (mut low, mut high) = split(info, low_bits);
        for round in 0..SCRAMBLE_ROUNDS {
            if round % 2 == 0 {
                low ^= self.round_function(tag_key, round, high, low_bits);
            } else {
                high ^= self.round_function(tag_key, round, low, high_bits);
            }
        }
        (high as u128) << low_bits | low as u128
    }

    /// The inverse of [`scramble`](Self::scramble): the same rounds, last first.
    fn unscramble(&self, tag_key: &[u8; 32], scrambled: u128) -> u128 {
        let (low_bits, high_bits) = self.halves();
        let (mut low, mut high) = split(scrambled, low_bits);
        for round in (0..SCRAMBLE_ROUNDS).rev() {
            if round % 2 == 0 {
                low ^= self.round_function(tag_key, round, high, low_bits);
            } else {
                high ^= self.round_function(tag_key, round, low, high_bits);
            }
        }
        (high as u128) << low_bits | low as u128
    }

    /// The coded bits carrying `id`: the scrambled information bits (ID then tag, permuted
    /// under `tag_key`) LSB-first, then six zero tail bits, each information bit producing
    /// three coded bits (generators 133, 171, 165).
    ///
    /// # Panics
    ///
    /// If `id` does not fit in `id_bits` bits (silently truncating would mark the wrong
    /// recipient).
    pub fn encode(&self, tag_key: &[u8; 32], id: u64) -> Vec<bool> {
        assert!(
            self.fits(id),
            "recipient ID {id} does not fit in {} bits",
            self.id_bits
        );
        let tag = self.tag(tag_key, id) as u128;
        self.encode_info(self.scramble(tag_key, tag << self.id_bits | id as u128))
    }

    /// The coded bits of `info_len` (already scrambled) information bits.
    fn encode_info(&self, info: u128) -> Vec<bool> {
        let info = (0..self.info_len()).map(|i| (info >> i) & 1 == 1);
        let tail = std::iter::repeat_n(false, MEMORY);

        let mut coded = Vec::with_capacity(self.coded_len());
        let mut state = 0;
        for bit in info.chain(tail) {
            let out = OUTPUTS[(state << 1) | bit as usize];
            coded.extend((0..RATE_INV).map(|j| (out >> j) & 1 == 1));
            state = next_state(state, bit);
        }
        debug_assert_eq!(state, 0);
        coded
    }

    /// The recipient ID carried by `soft`, or `None` when the decoded tag does not match the
    /// HMAC recomputed with `tag_key` (no watermark, wrong key, or too many errors) or when
    /// `soft` does not have [`coded_len`](Self::coded_len) values.
    ///
    /// `soft[i] > 0` means coded bit `i` is more likely 1; the magnitude is the confidence, on
    /// any scale. Non-finite values are treated as erasures (no information).
    pub fn decode(&self, tag_key: &[u8; 32], soft: &[f32]) -> Option<u64> {
        if soft.len() != self.coded_len() {
            return None;
        }
        self.verify(tag_key, &self.decode_bits(soft))
    }

    /// The ID in decoded information bits (from [`decode_bits`](Self::decode_bits)) if, once
    /// unscrambled, their tag matches the HMAC recomputed with `tag_key`: one Viterbi decode
    /// can be checked against several tag keys (each check is one more 2^-32 chance of a
    /// false pass).
    pub fn verify(&self, tag_key: &[u8; 32], bits: &[bool]) -> Option<u64> {
        if bits.len() != self.info_len() {
            return None;
        }
        let info = self.unscramble(tag_key, pack(bits));
        let (id, tag) = split(info, self.id_bits);
        (tag as u32 == self.tag(tag_key, id)).then_some(id)
    }

    /// The maximum-likelihood (scrambled) information bits for `soft`, by soft-decision
    /// Viterbi decoding. No integrity check: use [`decode`](Self::decode) or
    /// [`verify`](Self::verify) to get a recipient ID.
    ///
    /// The branch metric is the correlation between the soft values and the branch's coded
    /// bits mapped to ±1; the path with the largest total that ends in state 0 (the zero tail)
    /// wins. Non-finite soft values are treated as erasures.
    ///
    /// # Panics
    ///
    /// If `soft.len() != self.coded_len()`.
    pub fn decode_bits(&self, soft: &[f32]) -> Vec<bool> {
        assert_eq!(
            soft.len(),
            self.coded_len(),
            "expected {} soft values",
            self.coded_len()
        );
        let steps = self.info_len() + MEMORY;

        // f64 path metrics: no overflow or renormalisation concerns at any input scale.
        let mut metric = [f64::NEG_INFINITY; STATES];
        metric[0] = 0.0;
        let mut next = [f64::NEG_INFINITY; STATES];
        // decisions[t] bit s: the oldest bit of the surviving predecessor of state s at step t.
        let mut decisions = vec![0u64; steps];

        for (t, chunk) in soft.chunks_exact(RATE_INV).enumerate() {
            let branch = branch_metrics(chunk.iter().map(|&s| s as f64));
            let mut decided = 0u64;
            for (s, slot) in next.iter_mut().enumerate() {
                // State s is reached from ((s & 0x1f) << 1) | x with input bit s >> 5.
                let bit = s >> (MEMORY - 1);
                let base = (s & (STATES / 2 - 1)) << 1;
                let m0 = metric[base] + branch[OUTPUTS[(base << 1) | bit] as usize];
                let m1 = metric[base | 1] + branch[OUTPUTS[((base | 1) << 1) | bit] as usize];
                if m1 > m0 {
                    *slot = m1;
                    decided |= 1 << s;
                } else {
                    *slot = m0;
                }
            }
            decisions[t] = decided;
            std::mem::swap(&mut metric, &mut next);
        }

        // Trace back from state 0; the tail steps carry the six zero bits and are dropped.
        let mut bits = vec![false; steps];
        let mut state = 0usize;
        for t in (0..steps).rev() {
            bits[t] = state >> (MEMORY - 1) == 1;
            let oldest = ((decisions[t] >> state) & 1) as usize;
            state = ((state & (STATES / 2 - 1)) << 1) | oldest;
        }
        debug_assert_eq!(state, 0);
        bits.truncate(self.info_len());
        bits
    }
}

impl PayloadCodec {
    /// log E[exp(lambda * sum_j w_j x_j)] over codewords `x` (coded bits as ±1) of uniformly
    /// random information bits, for chip weights `w` (one per coded bit; non-finite values
    /// count as 0).
    ///
    /// This is the exact null distribution of a recipient's correlation score in collusion
    /// scoring: scrambling makes an innocent recipient's information bits uniform whatever
    /// the leak holds, and the code's structure (neighbouring coded bits depend on the same
    /// information bits) is taken into account by summing over the trellis, 2^-1 per input
    /// bit.
    ///
    /// # Panics
    ///
    /// If `weights.len() != self.coded_len()`.
    pub fn null_log_mgf(&self, weights: &[f64], lambda: f64) -> f64 {
        assert_eq!(weights.len(), self.coded_len(), "one weight per coded bit");
        // Linear-domain sums, renormalised every step; the scale is kept as a logarithm.
        let mut metric = [0f64; STATES];
        metric[0] = 1.0;
        let mut log_scale = 0.0;
        for (t, chunk) in weights.chunks_exact(RATE_INV).enumerate() {
            let branch = branch_metrics(chunk.iter().map(|&w| lambda * w));
            let top = branch.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let factor = branch.map(|b| (b - top).exp());
            // Information steps draw each input bit with probability 1/2; the tail is zeros.
            let (inputs, log_p): (&[bool], f64) = if t < self.info_len() {
                (&[false, true], -std::f64::consts::LN_2)
            } else {
                (&[false], 0.0)
            };
            let mut next = [0f64; STATES];
            for (state, &m) in metric.iter().enumerate() {
                if m == 0.0 {
                    continue;
                }
                for &bit in inputs {
                    let out = OUTPUTS[(state << 1) | bit as usize] as usize;
                    next[next_state(state, bit)] += m * factor[out];
                }
            }
            let peak = next.iter().copied().fold(0.0, f64::max);
            if peak == 0.0 {
                return f64::NEG_INFINITY;
            }
            next.iter_mut().for_each(|m| *m /= peak);
            log_scale += top + log_p + peak.ln();
            metric = next;
        }
        log_scale + metric[0].ln()
    }
}

/// The correlation of one step's soft values with each of the 8 branch outputs (bit j of
/// the output = generator j, mapped to ±1); non-finite values count as 0.
fn branch_metrics(step: impl Iterator<Item = f64> + Clone) -> [f64; 1 << RATE_INV] {
    std::array::from_fn(|out| {
        step.clone()
            .enumerate()
            .map(|(j, s)| {
                let s = if s.is_finite() { s } else { 0.0 };
                if (out >> j) & 1 == 1 { s } else { -s }
            })
            .sum()
    })
}

/// Bits LSB-first into an integer (at most 128 bits).
fn pack(bits: &[bool]) -> u128 {
    bits.iter()
        .enumerate()
        .fold(0, |acc, (i, &b)| acc | (b as u128) << i)
}

/// The low `low_bits` bits of `value` and the rest above them (each at most 64 bits).
fn split(value: u128, low_bits: usize) -> (u64, u64) {
    (
        (value & low_mask(low_bits) as u128) as u64,
        (value >> low_bits) as u64,
    )
}

fn low_mask(bits: usize) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    /// ±1 soft values for coded bits.
    fn bipolar(bits: &[bool]) -> Vec<f32> {
        bits.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect()
    }

    /// Tiny deterministic standard-normal generator: xorshift64* plus Box-Muller.
    struct Gauss(u64);

    impl Gauss {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
            ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64 // in (0, 1)
        }

        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    /// Noise standard deviation giving raw bit error rate `p` for ±1 signalling:
    /// sigma = 1 / Q^-1(p).
    fn sigma_for_ber(p: f64) -> f64 {
        let q_inv = match p {
            0.05 => 1.644_854,
            0.10 => 1.281_552,
            0.15 => 1.036_433,
            0.20 => 0.841_621,
            _ => panic!("no Q^-1 for {p}"),
        };
        1.0 / q_inv
    }

    /// Runs `trials` noisy decodes at raw BER `p`; returns (exact-ID successes, measured raw
    /// BER, wrong IDs reported).
    fn noisy_trials(codec: &PayloadCodec, p: f64, trials: usize, seed: u64) -> (usize, f64, usize) {
        let sigma = sigma_for_ber(p);
        let mut rng = Gauss(seed);
        let (mut ok, mut wrong, mut raw_errors) = (0, 0, 0);
        for trial in 0..trials {
            let id = (rng.uniform() * u32::MAX as f64) as u64 ^ trial as u64;
            let id = id & (u32::MAX as u64);
            let coded = codec.encode(&KEY, id);
            let soft: Vec<f32> = bipolar(&coded)
                .iter()
                .map(|&s| (s as f64 + sigma * rng.normal()) as f32)
                .collect();
            raw_errors += soft
                .iter()
                .zip(&coded)
                .filter(|&(&s, &b)| (s > 0.0) != b)
                .count();
            match codec.decode(&KEY, &soft) {
                Some(got) if got == id => ok += 1,
                Some(_) => wrong += 1,
                None => {}
            }
        }
        let ber = raw_errors as f64 / (trials * codec.coded_len()) as f64;
        (ok, ber, wrong)
    }

    #[test]
    fn lengths() {
        assert_eq!(PayloadCodec::new(32).coded_len(), 210);
        assert_eq!(PayloadCodec::new(64).coded_len(), 306);
        assert_eq!(PayloadCodec::new(32).encode(&KEY, 5).len(), 210);
    }

    #[test]
    #[should_panic(expected = "1 to 64 bits")]
    fn zero_id_bits_rejected() {
        PayloadCodec::new(0);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn oversized_id_rejected() {
        PayloadCodec::new(32).encode(&KEY, 1 << 32);
    }

    #[test]
    fn impulse_response_is_the_generators() {
        // A single 1 followed by zeros emits, at step t, tap (6 - t) of each generator.
        let codec = PayloadCodec::new(1);
        let mut state = 0;
        for t in 0..CONSTRAINT_LENGTH {
            let bit = t == 0;
            let out = OUTPUTS[(state << 1) | bit as usize];
            for (j, g) in GENERATORS.iter().enumerate() {
                assert_eq!((out >> j) & 1, (g >> (6 - t)) & 1, "step {t} generator {j}");
            }
            state = next_state(state, bit);
        }
        assert_eq!(state, 0);
        assert_eq!(codec.coded_len(), 3 * (1 + 32 + 6));
    }

    #[test]
    fn tag_matches_spec() {
        let codec = PayloadCodec::new(32);
        let id = 0x1234_5678u64;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&KEY).unwrap();
        let mut msg = b"filigree/v1/id".to_vec();
        msg.push(32);
        msg.extend_from_slice(&id.to_le_bytes());
        mac.update(&msg);
        let d = mac.finalize().into_bytes();
        let tag = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        // The info bits (recovered by noiseless decoding) are the ID then the tag, LSB-first,
        // once unscrambled.
        let bits = codec.decode_bits(&bipolar(&codec.encode(&KEY, id)));
        let (got_id, got_tag) = split(codec.unscramble(&KEY, pack(&bits)), 32);
        assert_eq!(got_id, id);
        assert_eq!(got_tag as u32, tag);
        // The tag depends on the ID width.
        assert_ne!(PayloadCodec::new(33).tag(&KEY, id), tag);
    }

    #[test]
    fn scramble_is_a_permutation_that_spreads_neighbours() {
        for id_bits in [1, 7, 32, 33, 64] {
            let codec = PayloadCodec::new(id_bits);
            for info in [0u128, 1, 0xdead_beef, (1 << codec.info_len()) - 1] {
                let scrambled = codec.scramble(&KEY, info);
                assert!(
                    scrambled >> codec.info_len() == 0,
                    "{id_bits}: {scrambled:#x}"
                );
                assert_eq!(codec.unscramble(&KEY, scrambled), info, "{id_bits}");
            }
        }
        // Neighbouring IDs get unrelated codewords: about half their coded bits differ.
        let codec = PayloadCodec::new(32);
        let a = codec.encode(&KEY, 42);
        let b = codec.encode(&KEY, 43);
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!((70..=140).contains(&differ), "{differ} of 210 differ");
    }

    #[test]
    fn null_mgf_matches_random_codewords() {
        let codec = PayloadCodec::new(32);
        let weights: Vec<f64> = (0..codec.coded_len())
            .map(|j| ((j * 37 % 11) as f64 - 5.0) / 5.0)
            .collect();
        assert!(codec.null_log_mgf(&weights, 0.0).abs() < 1e-12);
        let mut rng = Gauss(0x5eed);
        for lambda in [0.05, 0.1] {
            let trials = 100_000;
            let mean = (0..trials)
                .map(|_| {
                    rng.uniform();
                    let high = rng.0;
                    rng.uniform();
                    let info = (high as u128) << 64 | rng.0 as u128;
                    let info = info & ((1u128 << codec.info_len()) - 1);
                    let score: f64 = codec
                        .encode_info(info)
                        .iter()
                        .zip(&weights)
                        .map(|(&b, &w)| if b { w } else { -w })
                        .sum();
                    (lambda * score).exp()
                })
                .sum::<f64>()
                / trials as f64;
            let exact = codec.null_log_mgf(&weights, lambda).exp();
            assert!(
                (mean / exact - 1.0).abs() < 0.03,
                "lambda {lambda}: {mean} vs {exact}"
            );
        }
    }

    #[test]
    fn round_trip_32_bit() {
        let codec = PayloadCodec::new(32);
        for id in [
            0,
            1,
            2,
            0xdead_beef,
            0x8000_0000,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
        ] {
            let soft = bipolar(&codec.encode(&KEY, id));
            assert_eq!(codec.decode(&KEY, &soft), Some(id), "id {id:#x}");
            // Scale does not matter.
            let scaled: Vec<f32> = soft.iter().map(|s| s * 1e-3).collect();
            assert_eq!(codec.decode(&KEY, &scaled), Some(id), "id {id:#x} scaled");
        }
    }

    #[test]
    fn round_trip_64_bit() {
        let codec = PayloadCodec::new(64);
        for id in [0, 1, u32::MAX as u64 + 1, 0x0123_4567_89ab_cdef, u64::MAX] {
            let soft = bipolar(&codec.encode(&KEY, id));
            assert_eq!(codec.decode(&KEY, &soft), Some(id), "id {id:#x}");
        }
    }

    #[test]
    fn wrong_key_or_length_is_none() {
        let codec = PayloadCodec::new(32);
        let soft = bipolar(&codec.encode(&KEY, 42));
        assert_eq!(codec.decode(&[8; 32], &soft), None);
        assert_eq!(codec.decode(&KEY, &soft[1..]), None);
        assert_eq!(codec.decode(&KEY, &[]), None);
        assert_eq!(PayloadCodec::new(64).decode(&KEY, &soft), None);
    }

    #[test]
    fn non_finite_inputs_are_erasures() {
        let codec = PayloadCodec::new(32);
        let mut soft = bipolar(&codec.encode(&KEY, 99));
        soft[3] = f32::NAN;
        soft[50] = f32::INFINITY;
        soft[100] = f32::NEG_INFINITY;
        assert_eq!(codec.decode(&KEY, &soft), Some(99));
        assert_eq!(codec.decode(&KEY, &[f32::NAN; 210]), None);
    }

    #[test]
    fn corrects_spread_hard_errors() {
        let codec = PayloadCodec::new(32);
        for id in [0, 0x5555_5555, 0xcafe_f00d, u32::MAX as u64] {
            let mut soft = bipolar(&codec.encode(&KEY, id));
            // 12 flipped signs, one every 17 coded bits.
            for i in 0..12 {
                soft[5 + 17 * i] = -soft[5 + 17 * i];
            }
            assert_eq!(codec.decode(&KEY, &soft), Some(id), "id {id:#x}");
        }
    }

    #[test]
    fn corrects_gaussian_noise_at_ten_percent_raw_ber() {
        let codec = PayloadCodec::new(32);
        let (ok, ber, wrong) = noisy_trials(&codec, 0.10, 100, 0x9e37_79b9_7f4a_7c15);
        println!("raw BER {ber:.3}: {ok}/100 exact, {wrong} wrong IDs");
        assert!((0.08..0.12).contains(&ber), "measured raw BER {ber}");
        assert!(ok >= 95, "only {ok}/100 exact at raw BER {ber}");
        assert_eq!(wrong, 0);
    }

    #[test]
    fn pure_noise_never_passes_the_tag() {
        let codec = PayloadCodec::new(32);
        let mut rng = Gauss(0x0123_4567_89ab_cdef);
        for trial in 0..2000 {
            let soft: Vec<f32> = (0..codec.coded_len())
                .map(|_| rng.normal() as f32)
                .collect();
            assert_eq!(codec.decode(&KEY, &soft), None, "trial {trial}");
        }
    }

    /// Exact-ID recovery vs raw coded-bit error rate (soft ±1 + Gaussian noise). Run with
    /// `--nocapture` to see the table; only the conservative rows are asserted.
    #[test]
    fn recovery_vs_raw_ber() {
        let codec = PayloadCodec::new(32);
        let trials = 1000;
        for (i, p) in [0.05, 0.10, 0.15, 0.20].into_iter().enumerate() {
            let (ok, ber, wrong) = noisy_trials(&codec, p, trials, 0xabcd_0000 + i as u64);
            println!(
                "target raw BER {:.0}% (measured {:.2}%): exact ID {ok}/{trials} ({:.1}%), wrong IDs {wrong}",
                p * 100.0,
                ber * 100.0,
                100.0 * ok as f64 / trials as f64
            );
            assert_eq!(wrong, 0, "a wrong ID passed the tag");
            if p <= 0.10 {
                assert!(ok * 100 >= 99 * trials, "{ok}/{trials} at raw BER {ber}");
            }
        }
    }
}
