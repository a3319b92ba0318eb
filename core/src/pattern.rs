//! Keyed DCT-domain patterns on the working tile.
//!
//! The tile is 8x8 blocks of 8x8 working pixels. In every block, the 20 DCT coefficients with
//! `1 <= u + v <= 5` carry chips: ±1 values that H.264/H.265 keep even at CRF 32 on a 360p
//! copy (higher frequencies are quantised away first, DC would show as blocks). A keyed
//! permutation scatters the chips: most spell the coded payload (each coded bit on
//! `CHIPS_PER_CODED_BIT` chips spread over the tile), the rest are a recipient-independent
//! synchronisation pattern the detector uses to find scale and shift.

use std::f32::consts::PI;

use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::Rng;

use crate::grid::{BLOCK, TILE};
use crate::key::{Key, Purpose};

/// Chips per coded payload bit. With 210 coded bits this leaves 440 of the 1280 chips
/// (34 % of the energy) for synchronisation.
pub(crate) const CHIPS_PER_CODED_BIT: usize = 4;

const BLOCKS_PER_SIDE: usize = TILE / BLOCK;
const BLOCKS: usize = BLOCKS_PER_SIDE * BLOCKS_PER_SIDE;

/// (vertical, horizontal) frequencies used in every block.
fn band() -> Vec<(usize, usize)> {
    let mut band = Vec::new();
    for sum in 1..=5 {
        for u in 0..=sum {
            band.push((u, sum - u));
        }
    }
    band
}

/// Expected power of any key's tile at each tile frequency `(kr, kc)` (cycles per tile,
/// one of each `±k` pair, DC left out), strongest first. Every band slot of every block
/// carries a ±1 chip (sync or payload), so the expectation over keys is the band's power:
/// the sum over the band of each basis function's power at `k`. Key-independent, which is
/// what lets the detector estimate a leak's geometry before trying any key (`lattice`).
pub(crate) fn tile_spectrum() -> Vec<((i32, i32), f32)> {
    let basis = dct_basis();
    let half = (TILE / 2) as i32;
    // |DFT over the tile of basis function u placed in one block|^2, per frequency k.
    let power = |u: usize, k: i32| {
        let (mut re, mut im) = (0.0f32, 0.0f32);
        for x in 0..BLOCK {
            let phase = -2.0 * PI * k as f32 * x as f32 / TILE as f32;
            re += basis[[u, x]] * phase.cos();
            im += basis[[u, x]] * phase.sin();
        }
        re * re + im * im
    };
    let band = band();
    let mut spectrum: Vec<((i32, i32), f32)> = (0..half)
        .flat_map(|kr| (-half..half).map(move |kc| (kr, kc)))
        .filter(|&(kr, kc)| kr > 0 || kc > 0)
        .map(|(kr, kc)| {
            let p = band
                .iter()
                .map(|&(u, v)| power(u, kr) * power(v, kc))
                .sum::<f32>();
            ((kr, kc), p)
        })
        .collect();
    spectrum.sort_by(|a, b| b.1.total_cmp(&a.1));
    spectrum
}

/// One chip position: a DCT coefficient of one block of the tile.
#[derive(Debug, Clone, Copy)]
struct Slot {
    block_row: usize,
    block_col: usize,
    u: usize,
    v: usize,
}

#[derive(Debug, Clone, Copy)]
struct Chip {
    slot: Slot,
    sign: f32,
}

/// Where the sync and payload chips of one key sit in the tile, and their keyed signs.
#[derive(Debug, Clone)]
pub(crate) struct ChipLayout {
    sync: Vec<Chip>,
    /// `payload[i]` carries coded bit `i % coded_len`.
    payload: Vec<Chip>,
    coded_len: usize,
}

impl ChipLayout {
    pub(crate) fn new(key: &Key, coded_len: usize) -> ChipLayout {
        let band = band();
        let mut slots: Vec<Slot> = (0..BLOCKS)
            .flat_map(|b| {
                band.iter().map(move |&(u, v)| Slot {
                    block_row: b / BLOCKS_PER_SIDE,
                    block_col: b % BLOCKS_PER_SIDE,
                    u,
                    v,
                })
            })
            .collect();
        let payload_chips = coded_len * CHIPS_PER_CODED_BIT;
        assert!(payload_chips < slots.len(), "payload does not fit the tile");

        let mut payload_rng = key.rng(Purpose::PayloadPattern);
        shuffle(&mut slots, &mut payload_rng);
        let (payload_slots, sync_slots) = slots.split_at(payload_chips);
        let payload = keyed_chips(payload_slots, &mut payload_rng);
        let sync = keyed_chips(sync_slots, &mut key.rng(Purpose::SyncPattern));
        ChipLayout {
            sync,
            payload,
            coded_len,
        }
    }

    /// The synchronisation pattern alone (spatial, working pixels).
    pub(crate) fn sync_tile(&self) -> Array2<f32> {
        let mut coefficients = Array2::<f32>::zeros((TILE, TILE));
        for chip in &self.sync {
            coefficients[coefficient_index(chip.slot)] = chip.sign;
        }
        blockwise_idct(&coefficients)
    }

    /// The full mark for one recipient: sync + payload chips, scaled to unit RMS so that
    /// `strength` means code values of RMS amplitude before masking.
    pub(crate) fn mark_tile(&self, coded_bits: &[bool]) -> Array2<f32> {
        assert_eq!(coded_bits.len(), self.coded_len);
        let mut coefficients = Array2::<f32>::zeros((TILE, TILE));
        for chip in &self.sync {
            coefficients[coefficient_index(chip.slot)] = chip.sign;
        }
        for (i, chip) in self.payload.iter().enumerate() {
            let bit = if coded_bits[i % self.coded_len] {
                1.0
            } else {
                -1.0
            };
            coefficients[coefficient_index(chip.slot)] = chip.sign * bit;
        }
        // Orthonormal DCT: energy = number of chips, spread over TILE² working pixels.
        let chips = (self.sync.len() + self.payload.len()) as f32;
        let rms = (chips / (TILE * TILE) as f32).sqrt();
        blockwise_idct(&coefficients).mapv(|v| v / rms)
    }

    /// Soft value per coded bit from a registered tile (working pixels): the correlation of
    /// each bit's chips with the tile's DCT coefficients. Positive means "1".
    pub(crate) fn soft_bits(&self, tile: ArrayView2<f32>) -> Vec<f32> {
        let coefficients = blockwise_dct(tile);
        let mut soft = vec![0.0f32; self.coded_len];
        for (i, chip) in self.payload.iter().enumerate() {
            soft[i % self.coded_len] += chip.sign * coefficients[coefficient_index(chip.slot)];
        }
        soft
    }
}

fn keyed_chips(slots: &[Slot], rng: &mut ChaCha20Rng) -> Vec<Chip> {
    slots
        .iter()
        .map(|&slot| Chip {
            slot,
            sign: if rng.next_u32() & 1 == 1 { 1.0 } else { -1.0 },
        })
        .collect()
}

/// Fisher–Yates with unbiased bounded draws (Lemire's multiply-shift with rejection).
fn shuffle<T>(items: &mut [T], rng: &mut ChaCha20Rng) {
    for i in (1..items.len()).rev() {
        let bound = (i + 1) as u64;
        let threshold = bound.wrapping_neg() % bound;
        let j = loop {
            let product = rng.next_u32() as u64 * bound;
            if (product & 0xffff_ffff) >= threshold {
                break (product >> 32) as usize;
            }
        };
        items.swap(i, j);
    }
}

fn coefficient_index(slot: Slot) -> [usize; 2] {
    [
        slot.block_row * BLOCK + slot.u,
        slot.block_col * BLOCK + slot.v,
    ]
}

/// Orthonormal DCT-II basis: `basis[[k, x]]` is frequency k at sample x.
fn dct_basis() -> Array2<f32> {
    Array2::from_shape_fn((BLOCK, BLOCK), |(k, x)| {
        let scale = if k == 0 {
            (1.0 / BLOCK as f32).sqrt()
        } else {
            (2.0 / BLOCK as f32).sqrt()
        };
        scale * ((2 * x + 1) as f32 * k as f32 * PI / (2 * BLOCK) as f32).cos()
    })
}

/// 8x8 DCT of every block of a tile, coefficients stored in place of their block.
fn blockwise_dct(tile: ArrayView2<f32>) -> Array2<f32> {
    let basis = dct_basis();
    block_transform(tile, |block| basis.dot(&block).dot(&basis.t()))
}

fn blockwise_idct(coefficients: &Array2<f32>) -> Array2<f32> {
    let basis = dct_basis();
    block_transform(coefficients.view(), |block| {
        basis.t().dot(&block).dot(&basis)
    })
}

fn block_transform(
    input: ArrayView2<f32>,
    transform: impl Fn(ArrayView2<f32>) -> Array2<f32>,
) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros(input.dim());
    for br in 0..BLOCKS_PER_SIDE {
        for bc in 0..BLOCKS_PER_SIDE {
            let rows = br * BLOCK..(br + 1) * BLOCK;
            let cols = bc * BLOCK..(bc + 1) * BLOCK;
            let block = input.slice(ndarray::s![rows.clone(), cols.clone()]);
            out.slice_mut(ndarray::s![rows, cols])
                .assign(&transform(block));
        }
    }
    out
}

/// Cyclic 2x linear upsampling with centre alignment: the detector correlates at half a
/// working pixel so that a crop at any offset lands within a quarter pixel of a candidate.
pub(crate) fn upsample2(tile: ArrayView2<f32>) -> Array2<f32> {
    let n = tile.nrows();
    let rows = Array2::from_shape_fn((2 * n, n), |(r, c)| {
        let (near, far) = half_pixel_neighbours(r, n);
        0.75 * tile[[near, c]] + 0.25 * tile[[far, c]]
    });
    Array2::from_shape_fn((2 * n, 2 * n), |(r, c)| {
        let (near, far) = half_pixel_neighbours(c, n);
        0.75 * rows[[r, near]] + 0.25 * rows[[r, far]]
    })
}

/// Adjoint of [`upsample2`]: brings a half-pixel tile back to working pixels, so that
/// `<upsample2(a), b> == <a, downsample2(b)>` and correlations agree in both domains.
pub(crate) fn downsample2(tile: ArrayView2<f32>) -> Array2<f32> {
    let n = tile.nrows() / 2;
    let mut rows = Array2::<f32>::zeros((n, 2 * n));
    for r in 0..2 * n {
        let (near, far) = half_pixel_neighbours(r, n);
        for c in 0..2 * n {
            rows[[near, c]] += 0.75 * tile[[r, c]];
            rows[[far, c]] += 0.25 * tile[[r, c]];
        }
    }
    let mut out = Array2::<f32>::zeros((n, n));
    for c in 0..2 * n {
        let (near, far) = half_pixel_neighbours(c, n);
        for r in 0..n {
            out[[r, near]] += 0.75 * rows[[r, c]];
            out[[r, far]] += 0.25 * rows[[r, c]];
        }
    }
    out
}

/// Half-pixel sample `h` lies between working pixel `h / 2` and its neighbour on the side
/// of `h`'s parity (cyclically).
fn half_pixel_neighbours(h: usize, n: usize) -> (usize, usize) {
    let near = h / 2;
    let far = if h.is_multiple_of(2) {
        (near + n - 1) % n
    } else {
        (near + 1) % n
    };
    (near, far)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key {
        Key::from_bytes([byte; 32])
    }

    #[test]
    fn band_has_twenty_low_to_mid_frequencies() {
        let band = band();
        assert_eq!(band.len(), 20);
        assert!(band.iter().all(|&(u, v)| (1..=5).contains(&(u + v))));
    }

    #[test]
    fn dct_round_trips() {
        let tile = Array2::from_shape_fn((TILE, TILE), |(r, c)| ((r * 7 + c * 13) % 17) as f32);
        let back = blockwise_idct(&blockwise_dct(tile.view()));
        assert!(
            back.iter()
                .zip(tile.iter())
                .all(|(a, b)| (a - b).abs() < 1e-3)
        );
    }

    #[test]
    fn soft_bits_read_back_the_coded_bits() {
        let layout = ChipLayout::new(&key(3), 210);
        let bits: Vec<bool> = (0..210).map(|i| (i * 7919) % 3 == 0).collect();
        let soft = layout.soft_bits(layout.mark_tile(&bits).view());
        assert!(soft.iter().zip(&bits).all(|(&s, &b)| (s > 0.0) == b));
    }

    #[test]
    fn mark_tile_has_unit_rms_and_layouts_depend_on_key() {
        let bits = vec![true; 210];
        let tile = ChipLayout::new(&key(1), 210).mark_tile(&bits);
        let rms = (tile.iter().map(|v| v * v).sum::<f32>() / tile.len() as f32).sqrt();
        assert!((rms - 1.0).abs() < 1e-3);
        let other = ChipLayout::new(&key(2), 210).sync_tile();
        let mine = ChipLayout::new(&key(1), 210).sync_tile();
        let dot: f32 = mine.iter().zip(other.iter()).map(|(a, b)| a * b).sum();
        let norm: f32 = mine.iter().map(|a| a * a).sum();
        assert!(
            dot.abs() < 0.2 * norm,
            "sync patterns of different keys must be nearly orthogonal"
        );
    }

    #[test]
    fn downsample2_is_the_adjoint_of_upsample2() {
        let a = Array2::from_shape_fn((TILE, TILE), |(r, c)| {
            ((r * 31 + c * 17) % 23) as f32 - 11.0
        });
        let b = Array2::from_shape_fn((2 * TILE, 2 * TILE), |(r, c)| {
            ((r * 5 + c * 3) % 19) as f32 - 9.0
        });
        let lhs: f32 = upsample2(a.view())
            .iter()
            .zip(b.iter())
            .map(|(x, y)| x * y)
            .sum();
        let rhs: f32 = a
            .iter()
            .zip(downsample2(b.view()).iter())
            .map(|(x, y)| x * y)
            .sum();
        assert!((lhs - rhs).abs() < 1e-2 * lhs.abs().max(1.0));
    }
}
