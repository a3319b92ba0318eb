//! Collusion: naming every recipient whose copy went into a leak, and never an innocent one.
//!
//! Two or more recipients can average their copies or splice scenes from each. Three tools
//! answer that, each with its own proved bound on accusing an innocent:
//!
//! * **Peeling** ([`peel`], no ledger needed): decode the strongest recipient, cancel their
//!   codeword's share of the soft chips, decode again. Every ID reported passed its 32-bit
//!   keyed tag, so each extra decode is one more 2^-32 chance of a false one.
//! * **Ledger-backed accusation of single-step copies** ([`chips`]): every issued recipient's
//!   codeword is scored against the leak's soft chips, and the exact null of an innocent's
//!   score (through the code's trellis) gives each score a Chernoff tail.
//! * **Tardos accusation of two-step sessions** ([`sessions`]): every issued session is
//!   scored on the leak's Tardos positions, with the exact null of an innocent's score.
//!
//! Scores are turned into tails (the bound on an innocent scoring as high in one test); an
//! accusation is made when `tests * tail <= epsilon`, where `tests` counts every issued
//! recipient or session scored times every registration or window it was scored in (a
//! union bound over all of them), and `tests * tail` is the false-accusation probability
//! reported: the chance that any innocent among those scored would score as high anywhere.

pub mod chips;
pub mod sessions;
pub mod tail;

use std::collections::BTreeMap;

use crate::ledger::LedgerEntry;
use crate::payload::PayloadCodec;
use tail::NullScore;

/// Default false-accusation probability: the chance, over everyone scored, that any
/// innocent is accused.
pub const DEFAULT_FALSE_ACCUSATION: f64 = 1e-9;

/// Most recipients peeled from one leak (the first decode included).
pub const MAX_PEELED: usize = 4;

/// Who was issued a copy under a key: what accusation scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// Single-step recipients.
    pub recipients: Vec<u32>,
    /// Two-step sessions, per title.
    pub sessions: BTreeMap<u16, Vec<u32>>,
    /// Accuse only when the false-accusation probability is at most this.
    pub false_accusation: f64,
}

impl Issued {
    /// The recipients and sessions in ledger entries (those of one key), each once.
    pub fn from_entries(entries: &[LedgerEntry], false_accusation: f64) -> Issued {
        let mut recipients = Vec::new();
        let mut sessions: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for entry in entries {
            let Ok(id) = u32::try_from(entry.recipient) else {
                continue;
            };
            match entry.two_step_title() {
                Some(title) => sessions.entry(title).or_default().push(id),
                None => recipients.push(id),
            }
        }
        recipients.sort_unstable();
        recipients.dedup();
        for list in sessions.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        Issued {
            recipients,
            sessions,
            false_accusation,
        }
    }
}

/// A recipient or session whose score stood out in one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accused {
    /// The recipient ID, or the session ID for a two-step title.
    pub id: u32,
    /// Its score in the test: higher agrees more with the leak (`tail` bounds an innocent's).
    pub score: f64,
    /// Bound on the probability that an innocent scores this high in this one test.
    pub tail: f64,
}

/// Everyone in `scores` whose tail under `null` is at most `max_tail`, highest score first.
/// Tails only fall as scores grow, so they are computed from the top down until one fails.
pub fn accuse(
    null: &impl NullScore,
    scores: impl IntoIterator<Item = (u32, f64)>,
    max_tail: f64,
) -> Vec<Accused> {
    let mut scores: Vec<(u32, f64)> = scores.into_iter().collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut accused = Vec::new();
    for (id, score) in scores {
        let tail = tail::tail(null, score);
        if tail > max_tail {
            break;
        }
        accused.push(Accused { id, score, tail });
    }
    accused
}

/// One accusation as reported: everything said about one recipient or session.
#[derive(Debug, Clone, PartialEq)]
pub struct Accusation {
    /// The recipient ID, or the session ID when `title` is set.
    pub id: u32,
    /// The two-step title, for a session.
    pub title: Option<u16>,
    /// `tests * tail` at its strongest test (see the module docs).
    pub false_accusation_probability: f64,
    /// Leak seconds where its mark was found, merged.
    pub time_ranges: Vec<(f64, f64)>,
}

/// Leak time ranges sorted and merged where they overlap or touch.
pub fn merge_ranges(mut ranges: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 1e-6 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// What [`peel`] found: the IDs in decoding order and the number of decodes tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeled {
    /// Recipient IDs that decoded and passed their tags, strongest first.
    pub ids: Vec<u32>,
    /// Decodes tried, a last one that failed or repeated an ID included.
    pub decodes: usize,
}

/// Decodes recipients from soft chips one after another: after each decode, that codeword's
/// share of the chips (their correlation with it) is subtracted before the next, so a leak
/// averaged or spliced from several copies gives up each of them in turn, strongest first.
/// Stops at the first decode that fails its tag or repeats an ID, or at [`MAX_PEELED`].
pub fn peel(codec: &PayloadCodec, tag_key: &[u8; 32], soft: &[f32]) -> Peeled {
    let mut residual = soft.to_vec();
    let mut peeled = Peeled {
        ids: Vec::new(),
        decodes: 0,
    };
    while peeled.ids.len() < MAX_PEELED {
        peeled.decodes += 1;
        let Some(id) = codec
            .decode(tag_key, &residual)
            .map(|id| id as u32)
            .filter(|id| !peeled.ids.contains(id))
        else {
            break;
        };
        peeled.ids.push(id);
        let coded = codec.encode(tag_key, id as u64);
        let sign = |bit: bool| if bit { 1.0f32 } else { -1.0 };
        let share = residual
            .iter()
            .zip(&coded)
            .filter(|(r, _)| r.is_finite())
            .map(|(r, &b)| r * sign(b))
            .sum::<f32>()
            / coded.len() as f32;
        for (r, &b) in residual.iter_mut().zip(&coded) {
            *r -= share * sign(b);
        }
    }
    peeled
}

#[cfg(test)]
mod tests {
    use super::chips::ChipNull;
    use super::*;

    const KEY: [u8; 32] = [3; 32];

    fn bipolar(codec: &PayloadCodec, id: u32) -> Vec<f32> {
        codec
            .encode(&KEY, id as u64)
            .iter()
            .map(|&b| if b { 1.0 } else { -1.0 })
            .collect()
    }

    /// xorshift64* noise, roughly normal by summing uniforms.
    fn noise(seed: &mut u64) -> f32 {
        (0..12)
            .map(|_| {
                *seed ^= *seed >> 12;
                *seed ^= *seed << 25;
                *seed ^= *seed >> 27;
                (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
            })
            .sum::<f32>()
            - 6.0
    }

    #[test]
    fn peeling_an_average_of_two_gives_both() {
        let codec = PayloadCodec::new(32);
        let mut seed = 99u64;
        let soft: Vec<f32> = bipolar(&codec, 42)
            .iter()
            .zip(bipolar(&codec, 43))
            .map(|(a, b)| 0.6 * a + 0.4 * b + 0.1 * noise(&mut seed))
            .collect();
        let peeled = peel(&codec, &KEY, &soft);
        assert_eq!(peeled.ids, vec![42, 43]);
        assert_eq!(peeled.decodes, 3);
    }

    #[test]
    fn averages_of_up_to_three_accuse_exactly_the_colluders() {
        let codec = PayloadCodec::new(32);
        let issued: Vec<u32> = (1..=2000).collect();
        let mut seed = 7u64;
        for colluders in [vec![5u32], vec![17, 18], vec![100, 1500, 1501]] {
            let mut soft = vec![0f32; codec.coded_len()];
            for &c in &colluders {
                for (s, b) in soft.iter_mut().zip(bipolar(&codec, c)) {
                    *s += b / colluders.len() as f32;
                }
            }
            for s in &mut soft {
                *s += 0.05 * noise(&mut seed);
            }
            let null = ChipNull::new(codec, &soft);
            let scores = issued
                .iter()
                .map(|&id| (id, null.score(&codec.encode(&KEY, id as u64))));
            let accused = accuse(&null, scores, 1e-6 / issued.len() as f64);
            let mut ids: Vec<u32> = accused.iter().map(|a| a.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, colluders);
        }
    }
}
