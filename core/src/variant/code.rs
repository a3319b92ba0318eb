//! The outer code over a title's positions: which variant each position serves a session.
//!
//! Session IDs are 32 bits. Positions come in two kinds, three outer-code positions to one
//! Tardos position, chosen by the key per position (HMAC-SHA256(subkey(t), p) decides everything about position `p` of title
//! `t`):
//!
//! * **Outer-code positions** have a 32-bit generator `g_p` and an offset bit `h_p`; session
//!   `s` is served variant B at `p` when `parity(g_p & s) xor h_p` is 1. That is a keyed
//!   random affine code: without the key nobody can say which sessions a position separates,
//!   and with it any 32 or so read positions, wherever they are in the title, solve for the
//!   session by Gaussian elimination over GF(2) (a random 32-column matrix has full rank from
//!   32 + k rows with probability about 1 - 2^-k). This names a single leaker with no ledger.
//! * **Tardos positions** have a bias `b_p` drawn from the arcsine density on
//!   [`BIAS_CUTOFF`, 1 - `BIAS_CUTOFF`] (Tardos 2003, symmetric scoring of Škorić et al.
//!   2008); session `s` is served B with probability `b_p`, by a keyed draw from a ChaCha8
//!   stream seeded per session. Every session's symbols there are independent of every
//!   other's, which a linear code cannot offer (three colluders' sessions XOR to a fourth
//!   whose symbols they then know): collusion accusation (`collusion::sessions`) scores the
//!   issued sessions on these positions with an exact bound for innocents.
//!
//! Reads are erasure-like: a position only counts as read after its 32-bit keyed tag
//! checked (`detect::positions`), so a wrong read needs a 2^-32 event. A session is named
//! only when the reads determine it and would still determine it without any single one of
//! them; then one false read can only contradict the others or agree with them, never
//! change the answer, and a wrong session needs at least two false reads (the bound
//! `detect::positions` reports).

use hmac::{Hmac, KeyInit, Mac};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::Sha256;

use super::Variant;
use crate::key::{Key, Purpose};

/// Bits of a session ID.
pub const SESSION_BITS: usize = 32;

/// Smallest Tardos bias (and one minus the largest): rarer symbols would weigh more in the
/// score than a few reads can support (Tardos' cutoff, chosen for coalitions up to 4).
pub const BIAS_CUTOFF: f64 = 0.01;

/// Label of the per-session seed of the Tardos draws.
const TARDOS_LABEL: &[u8] = b"tardos";

/// What a position of the code is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PositionCode {
    /// A row of the outer code: B when `parity(generator & session) xor offset`.
    Outer {
        /// Mask of the session bits whose parity the position takes.
        generator: u32,
        /// Bit XORed onto that parity: the affine part of the row.
        offset: bool,
    },
    /// A Tardos position: B with probability `bias`, independently per session.
    Tardos {
        /// Probability that a session is served B, in [`BIAS_CUTOFF`, 1 - `BIAS_CUTOFF`].
        bias: f64,
    },
}

/// One position read from a leak: which variant of it the leak carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PositionRead {
    /// Index of the position in the title, from 0.
    pub position: u32,
    /// The variant the leak carries there.
    pub variant: Variant,
}

/// What a set of reads says about the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionDecode {
    /// The reads fix this session, and still would without any one of them.
    Identified(u32),
    /// No session agrees with every read: segments of several sessions (a mixed leak), or a
    /// misread.
    Inconsistent,
    /// Not enough independent positions: `rank` of the session's 32 bits are fixed (counting
    /// only what survives dropping any single read).
    Undetermined {
        /// Bits of the session fixed with any one read dropped (a rank over GF(2), below 32).
        rank: usize,
    },
}

/// The keyed outer code of one title.
#[derive(Clone)]
pub struct SessionCode {
    subkey: [u8; 32],
}

impl std::fmt::Debug for SessionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCode { .. }")
    }
}

impl SessionCode {
    /// The outer code of title `title` under `key` (keyed by a subkey derived from both).
    pub fn new(key: &Key, title: u16) -> SessionCode {
        SessionCode {
            subkey: key.derive(Purpose::SessionCode, &title.to_le_bytes()),
        }
    }

    /// What position `position` is: from HMAC-SHA256(subkey, position as u32 LE), byte 5 picks
    /// the kind (Tardos when its low two bits are 0), bytes 0-4 make an outer-code row, bytes
    /// 8-15 a Tardos bias. Three in four positions serve the outer code, so a single leaker
    /// is still named from a couple of minutes; the Tardos quarter builds up collusion
    /// evidence over a whole title.
    pub fn position_code(&self, position: u32) -> PositionCode {
        let digest = self.mac(&[&position.to_le_bytes()]);
        if digest[5] & 3 == 0 {
            let u = unit(u64::from_le_bytes(
                digest[8..16].try_into().expect("8 bytes"),
            ));
            // Arcsine density on [t, 1 - t]: b = sin^2(theta), theta uniform in between.
            let low = BIAS_CUTOFF.sqrt().asin();
            let theta = low + u * (std::f64::consts::FRAC_PI_2 - 2.0 * low);
            PositionCode::Tardos {
                bias: theta.sin().powi(2),
            }
        } else {
            PositionCode::Outer {
                generator: u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]),
                offset: digest[4] & 1 == 1,
            }
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.subkey)
            .expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The Tardos draws of `session`: a ChaCha8 stream seeded by
    /// HMAC-SHA256(subkey, "tardos" || session as u32 LE), one 64-bit word per position.
    pub fn draws(&self, session: u32) -> TardosDraws {
        TardosDraws(ChaCha8Rng::from_seed(
            self.mac(&[TARDOS_LABEL, &session.to_le_bytes()]),
        ))
    }

    /// The variant `session` is served at `position`.
    pub fn variant(&self, session: u32, position: u32) -> Variant {
        match self.position_code(position) {
            PositionCode::Outer { generator, offset } => {
                Variant::from_bit(((generator & session).count_ones() & 1 == 1) ^ offset)
            }
            PositionCode::Tardos { bias } => {
                Variant::from_bit(self.draws(session).uniform(position) < bias)
            }
        }
    }

    /// Solves for the session from the outer-code positions among `reads` (in any order,
    /// repeats allowed). A position read as both A and B is left out: it cannot be one
    /// session's.
    pub fn decode(&self, reads: &[PositionRead]) -> SessionDecode {
        let mut reads = reads.to_vec();
        reads.sort();
        reads.dedup();
        let both: Vec<u32> = reads
            .windows(2)
            .filter(|pair| pair[0].position == pair[1].position)
            .map(|pair| pair[0].position)
            .collect();
        let equations: Vec<(u32, bool)> = reads
            .iter()
            .filter(|read| both.binary_search(&read.position).is_err())
            .filter_map(|read| match self.position_code(read.position) {
                PositionCode::Outer { generator, offset } => {
                    Some((generator, read.variant.bit() ^ offset))
                }
                PositionCode::Tardos { .. } => None,
            })
            .collect();
        let Some(basis) = Basis::of(equations.iter().copied()) else {
            return SessionDecode::Inconsistent;
        };
        // Rank without each single equation: the weakest leave-one-out rank is what counts.
        // Dropping an equation that added nothing to the basis leaves the basis as it was,
        // so only the (at most 32) that did need checking.
        let rank = basis
            .pivots
            .iter()
            .map(|&skip| {
                let others = equations
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .map(|(_, &e)| e);
                Basis::of(others).map_or(0, |b| b.rank())
            })
            .min()
            .unwrap_or(0);
        if rank < SESSION_BITS {
            return SessionDecode::Undetermined { rank };
        }
        SessionDecode::Identified(basis.solve())
    }
}

/// One session's Tardos draws, addressable by position.
pub struct TardosDraws(ChaCha8Rng);

impl TardosDraws {
    /// The draw at `position`, uniform in [0, 1): B there when it is below the bias.
    pub fn uniform(&mut self, position: u32) -> f64 {
        self.0.set_word_pos(2 * position as u128);
        unit(self.0.next_u64())
    }
}

/// The top 53 bits of `word` as a number in [0, 1).
fn unit(word: u64) -> f64 {
    (word >> 11) as f64 * (-53f64).exp2()
}

/// A GF(2) row-echelon basis of equations `parity(g & s) = r`, indexed by each row's
/// highest generator bit.
struct Basis {
    rows: [Option<(u32, bool)>; SESSION_BITS],
    /// Indices of the equations that became rows.
    pivots: Vec<usize>,
}

impl Basis {
    /// The basis of `equations`, or `None` when they contradict each other.
    fn of(equations: impl Iterator<Item = (u32, bool)>) -> Option<Basis> {
        let mut basis = Basis {
            rows: [None; SESSION_BITS],
            pivots: Vec::new(),
        };
        for (index, (mut g, mut r)) in equations.enumerate() {
            while g != 0 {
                let top = 31 - g.leading_zeros() as usize;
                match basis.rows[top] {
                    Some((bg, br)) => {
                        g ^= bg;
                        r ^= br;
                    }
                    None => {
                        basis.rows[top] = Some((g, r));
                        basis.pivots.push(index);
                        break;
                    }
                }
            }
            if g == 0 && r {
                return None;
            }
        }
        Some(basis)
    }

    fn rank(&self) -> usize {
        self.rows.iter().flatten().count()
    }

    /// The unique solution of a full-rank basis: bits from the lowest up, each row fixing
    /// its top bit from the lower ones already solved.
    fn solve(&self) -> u32 {
        let mut s = 0u32;
        for (bit, row) in self.rows.iter().enumerate() {
            let (g, r) = row.expect("full rank");
            let lower = g & !(1u32 << bit);
            let value = r ^ ((lower & s).count_ones() & 1 == 1);
            s |= (value as u32) << bit;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(
        code: &SessionCode,
        session: u32,
        positions: impl Iterator<Item = u32>,
    ) -> Vec<PositionRead> {
        positions
            .map(|position| PositionRead {
                position,
                variant: code.variant(session, position),
            })
            .collect()
    }

    #[test]
    fn any_hundred_positions_identify_the_session() {
        let key = Key::from_bytes([7; 32]);
        let code = SessionCode::new(&key, 3);
        for (session, start) in [(0u32, 0u32), (0xdead_beef, 1000), (u32::MAX, 77_777)] {
            let r = reads(&code, session, (start..start + 300).step_by(3));
            assert_eq!(code.decode(&r), SessionDecode::Identified(session));
        }
    }

    #[test]
    fn too_few_positions_say_so() {
        let code = SessionCode::new(&Key::from_bytes([8; 32]), 0);
        let r = reads(&code, 12345, 0..40);
        assert!(matches!(code.decode(&r), SessionDecode::Undetermined { rank } if rank < 32));
    }

    #[test]
    fn one_wrong_read_never_names_another_session() {
        let code = SessionCode::new(&Key::from_bytes([9; 32]), 1);
        let session = 0x0bad_f00d;
        let mut wrong_answers = 0;
        for flipped in 0..120 {
            let mut r = reads(&code, session, 0..120);
            r[flipped].variant = Variant::from_bit(!r[flipped].variant.bit());
            match code.decode(&r) {
                SessionDecode::Identified(s) if s != session => wrong_answers += 1,
                _ => {}
            }
        }
        assert_eq!(wrong_answers, 0);
    }

    #[test]
    fn a_position_read_both_ways_is_left_out() {
        let code = SessionCode::new(&Key::from_bytes([10; 32]), 2);
        let session = 99;
        let mut r = reads(&code, session, 0..120);
        let outer = (0..)
            .find(|&p| matches!(code.position_code(p), PositionCode::Outer { .. }))
            .unwrap();
        let other = Variant::from_bit(!code.variant(session, outer).bit());
        r.push(PositionRead {
            position: outer,
            variant: other,
        });
        assert_eq!(code.decode(&r), SessionDecode::Identified(session));
    }

    #[test]
    fn a_quarter_of_the_positions_are_tardos_with_arcsine_biases() {
        let code = SessionCode::new(&Key::from_bytes([11; 32]), 4);
        let biases: Vec<f64> = (0..8000)
            .filter_map(|p| match code.position_code(p) {
                PositionCode::Tardos { bias } => Some(bias),
                PositionCode::Outer { .. } => None,
            })
            .collect();
        assert!((1800..2200).contains(&biases.len()), "{}", biases.len());
        assert!(
            biases
                .iter()
                .all(|b| (BIAS_CUTOFF..=1.0 - BIAS_CUTOFF).contains(b))
        );
        // Arcsine: a third of the mass within 0.067 of either end (cut at 0.01).
        let extreme = biases
            .iter()
            .filter(|&&b| !(0.067..=0.933).contains(&b))
            .count();
        assert!(
            (0.2..0.4).contains(&(extreme as f64 / biases.len() as f64)),
            "{extreme}"
        );
        // Sessions are served B at about the bias's rate.
        let (p, bias) = (0..)
            .find_map(|p| match code.position_code(p) {
                PositionCode::Tardos { bias } if (0.2..0.8).contains(&bias) => Some((p, bias)),
                _ => None,
            })
            .unwrap();
        let b = (0..4000)
            .filter(|&s| code.variant(s, p) == Variant::B)
            .count();
        assert!((b as f64 / 4000.0 - bias).abs() < 0.04, "{b} vs {bias}");
    }

    #[test]
    fn codes_of_different_titles_and_keys_differ() {
        let a = SessionCode::new(&Key::from_bytes([1; 32]), 0);
        let b = SessionCode::new(&Key::from_bytes([1; 32]), 1);
        let c = SessionCode::new(&Key::from_bytes([2; 32]), 0);
        let pattern = |code: &SessionCode| (0..64).map(|p| code.variant(42, p)).collect::<Vec<_>>();
        assert_ne!(pattern(&a), pattern(&b));
        assert_ne!(pattern(&a), pattern(&c));
    }
}
