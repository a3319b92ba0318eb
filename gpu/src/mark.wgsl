// Filigree's frame kernels: the visible overlay, then the invisible mark.
//
// Each kernel mirrors a function of the CPU reference in crate `filigree` (named at each
// entry point) operation for operation, so results agree to within the last bit of the
// f32 arithmetic. The prelude that `shader.rs` puts before this file defines the sample
// packing (SAMPLE_BITS, SAMPLES_PER_WORD) and the mask tuning constants taken from the Rust
// source.
//
// Samples are packed little-endian into u32 words (four 8-bit or two 16-bit samples), one
// plane after another; every thread owns whole words, so no two threads write one word.

struct Params {
    width: u32,
    height: u32,
    cols: u32,
    rows: u32,

    luma_words: u32,
    chroma_width: u32,
    chroma_height: u32,
    chroma_words: u32,

    cb_at: u32,
    cr_at: u32,
    sub_x: u32,
    sub_y: u32,

    max_code: f32,
    to_8bit: f32,
    amplitude: f32,
    has_previous: u32,

    // Tables in `geometry`, as word offsets.
    col_starts_at: u32,
    row_starts_at: u32,
    col_taps_at: u32,
    row_taps_at: u32,

    tile_at: u32,
    // Overlay: the text mask (`overlay` holds fill coverage, halo coverage, corners).
    mask_width: u32,
    mask_height: u32,
    corners: u32,

    halo_at: u32,
    corners_at: u32,
    opacity: f32,
    fill_y: f32,

    fill_cb: f32,
    fill_cr: f32,
    halo_y: f32,
    halo_cb: f32,

    halo_cr: f32,
    // Luma rectangle holding every copy of the mask: [x0, x1) x [y0, y1).
    box_x0: i32,
    box_y0: i32,
    box_x1: i32,

    box_y1: i32,
    // The active picture (`Embedder::picture`): only it is marked, and the tables are
    // relative to it.
    pic_x0: u32,
    pic_y0: u32,
    pic_width: u32,
    pic_height: u32,
    // The part of the picture this frame shows (`Embedder::frame_picture`), absolute:
    // only it gets the mark.
    shown_x0: u32,
    shown_y0: u32,
    shown_x1: u32,
    shown_y1: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> frame: array<u32>;
@group(0) @binding(2) var<storage, read> geometry: array<u32>;
@group(0) @binding(3) var<storage, read_write> cells: array<f32>;
@group(0) @binding(4) var<storage, read> overlay: array<u32>;

const WORKGROUP: u32 = 256u;
// Dispatches wider than the 65535-workgroup limit wrap into further rows of workgroups.
const MAX_WORKGROUPS_X: u32 = 65535u;
const SAMPLE_MASK: u32 = (1u << SAMPLE_BITS) - 1u;

// Sections of `cells`, each `cols * rows` long.
const LUMA_SUM: u32 = 0u;
const ACTIVITY_SUM: u32 = 1u;
const RAW_GAIN: u32 = 2u;
const PREVIOUS_LUMA_SUM: u32 = 3u;
const PREVIOUS_GAIN: u32 = 4u;
const CELL_MARK: u32 = 5u;

fn thread_index(id: vec3<u32>) -> u32 {
    return id.x + id.y * MAX_WORKGROUPS_X * WORKGROUP;
}

fn cell_at(section: u32, cell: u32) -> u32 {
    return section * params.cols * params.rows + cell;
}

fn sample_at(plane_at: u32, index: u32) -> u32 {
    let word = frame[plane_at + index / SAMPLES_PER_WORD];
    return (word >> ((index % SAMPLES_PER_WORD) * SAMPLE_BITS)) & SAMPLE_MASK;
}

fn unpack(word: u32, lane: u32) -> f32 {
    return f32((word >> (lane * SAMPLE_BITS)) & SAMPLE_MASK);
}

fn pack(word: u32, lane: u32, value: u32) -> u32 {
    let shift = lane * SAMPLE_BITS;
    return (word & ~(SAMPLE_MASK << shift)) | (value << shift);
}

// `Sample::from_f32_clamped`: clamp, then round half up by truncation.
fn to_code(value: f32) -> u32 {
    return u32(clamp(value, 0.0, params.max_code) + 0.5);
}

// ---- Overlay (`overlay::composite`) ----

// `mask_alpha`: halo and fill coverage at mask position (mx, my), times the opacity.
fn mask_alpha(mx: i32, my: i32) -> vec2<f32> {
    if mx < 0 || my < 0 || u32(mx) >= params.mask_width || u32(my) >= params.mask_height {
        return vec2<f32>(0.0, 0.0);
    }
    let at = u32(my) * params.mask_width + u32(mx);
    let halo = bitcast<f32>(overlay[params.halo_at + at]);
    let fill = bitcast<f32>(overlay[at]);
    return vec2<f32>(halo * params.opacity, fill * params.opacity);
}

fn corner(i: u32) -> vec2<i32> {
    return vec2<i32>(
        bitcast<i32>(overlay[params.corners_at + 2u * i]),
        bitcast<i32>(overlay[params.corners_at + 2u * i + 1u]),
    );
}

// `blend`: the halo, then the fill, rounded to a code value.
fn blend(value: f32, alpha: vec2<f32>, halo: f32, fill: f32) -> f32 {
    var v = value + alpha.x * (halo - value);
    v = v + alpha.y * (fill - v);
    return f32(to_code(v));
}

// `composite_plane` on luma, every corner in order.
@compute @workgroup_size(WORKGROUP)
fn overlay_luma(@builtin(global_invocation_id) id: vec3<u32>) {
    let word_index = thread_index(id);
    if word_index >= params.luma_words {
        return;
    }
    var word = frame[word_index];
    let samples = params.width * params.height;
    for (var lane = 0u; lane < SAMPLES_PER_WORD; lane++) {
        let index = word_index * SAMPLES_PER_WORD + lane;
        if index >= samples {
            break;
        }
        let x = i32(index % params.width);
        let y = i32(index / params.width);
        if x < params.box_x0 || x >= params.box_x1 || y < params.box_y0 || y >= params.box_y1 {
            continue;
        }
        var v = unpack(word, lane);
        for (var c = 0u; c < params.corners; c++) {
            let alpha = mask_alpha(x - corner(c).x, y - corner(c).y);
            if alpha.x > 0.0 || alpha.y > 0.0 {
                v = blend(v, alpha, params.halo_y, params.fill_y);
            }
        }
        word = pack(word, lane, u32(v));
    }
    frame[word_index] = word;
}

// `composite_planes` on chroma: each sample takes the mask averaged over its luma footprint.
// Threads cover the Cb words, then the Cr words.
@compute @workgroup_size(WORKGROUP)
fn overlay_chroma(@builtin(global_invocation_id) id: vec3<u32>) {
    let thread = thread_index(id);
    if thread >= 2u * params.chroma_words {
        return;
    }
    let is_cr = thread >= params.chroma_words;
    let word_index = select(params.cb_at + thread, params.cr_at + thread - params.chroma_words, is_cr);
    let halo = select(params.halo_cb, params.halo_cr, is_cr);
    let fill = select(params.fill_cb, params.fill_cr, is_cr);
    let first = select(thread, thread - params.chroma_words, is_cr) * SAMPLES_PER_WORD;
    var word = frame[word_index];
    let samples = params.chroma_width * params.chroma_height;
    for (var lane = 0u; lane < SAMPLES_PER_WORD; lane++) {
        let index = first + lane;
        if index >= samples {
            break;
        }
        let ccol = index % params.chroma_width;
        let crow = index / params.chroma_width;
        let lx0 = ccol * params.sub_x;
        let ly0 = crow * params.sub_y;
        let lx1 = min(lx0 + params.sub_x, params.width);
        let ly1 = min(ly0 + params.sub_y, params.height);
        if i32(lx1) <= params.box_x0 || i32(lx0) >= params.box_x1 || i32(ly1) <= params.box_y0
            || i32(ly0) >= params.box_y1 {
            continue;
        }
        var v = unpack(word, lane);
        for (var c = 0u; c < params.corners; c++) {
            var sum = vec2<f32>(0.0, 0.0);
            var n = 0u;
            for (var ly = ly0; ly < ly1; ly++) {
                for (var lx = lx0; lx < lx1; lx++) {
                    sum += mask_alpha(i32(lx) - corner(c).x, i32(ly) - corner(c).y);
                    n++;
                }
            }
            if n == 0u || (sum.x <= 0.0 && sum.y <= 0.0) {
                continue;
            }
            v = blend(v, sum / f32(n), halo, fill);
        }
        word = pack(word, lane, u32(v));
    }
    frame[word_index] = word;
}

// ---- Perceptual mask (`mask::PerceptualMask::update`) ----

// `cell_sums`: luma and absolute-gradient sums per working cell, as exact integers.
@compute @workgroup_size(WORKGROUP)
fn cell_sums(@builtin(global_invocation_id) id: vec3<u32>) {
    let cell = thread_index(id);
    if cell >= params.cols * params.rows {
        return;
    }
    let r = cell / params.cols;
    let c = cell % params.cols;
    let x0 = geometry[params.col_starts_at + c];
    let x1 = geometry[params.col_starts_at + c + 1u];
    let y0 = geometry[params.row_starts_at + r];
    let y1 = geometry[params.row_starts_at + r + 1u];
    var luma = 0u;
    var activity = 0u;
    for (var y = y0; y < y1; y++) {
        let row = (params.pic_y0 + y) * params.width + params.pic_x0;
        let below = (params.pic_y0 + min(y + 1u, params.pic_height - 1u)) * params.width
            + params.pic_x0;
        for (var x = x0; x < x1; x++) {
            let value = sample_at(0u, row + x);
            let right = sample_at(0u, row + min(x + 1u, params.pic_width - 1u));
            let down = sample_at(0u, below + x);
            luma += value;
            activity += max(right, value) - min(right, value) + max(down, value) - min(down, value);
        }
    }
    cells[cell_at(LUMA_SUM, cell)] = f32(luma);
    cells[cell_at(ACTIVITY_SUM, cell)] = f32(activity);
}

fn pixel_count(cell: u32) -> f32 {
    let r = cell / params.cols;
    let c = cell % params.cols;
    let rows = geometry[params.row_starts_at + r + 1u] - geometry[params.row_starts_at + r];
    let cols = geometry[params.col_starts_at + c + 1u] - geometry[params.col_starts_at + c];
    return f32(rows * cols);
}

// `luminance_gain`
fn luminance_gain(luma: f32) -> f32 {
    if luma < 127.0 {
        let d = 1.0 - luma / 127.0;
        return 1.0 + 0.5 * d * d;
    }
    return 1.0 + 0.25 * (luma - 127.0) / 128.0;
}

// `texture_gain`
fn texture_gain(activity: f32) -> f32 {
    return min(MIN_TEXTURE_GAIN + activity / ACTIVITY_PER_UNIT_GAIN, MAX_TEXTURE_GAIN);
}

// `cell_gain`
@compute @workgroup_size(WORKGROUP)
fn cell_gain(@builtin(global_invocation_id) id: vec3<u32>) {
    let cell = thread_index(id);
    if cell >= params.cols * params.rows {
        return;
    }
    let count = max(pixel_count(cell), 1.0);
    let luma = cells[cell_at(LUMA_SUM, cell)] * params.to_8bit / count;
    let activity = cells[cell_at(ACTIVITY_SUM, cell)] * params.to_8bit / count;
    cells[cell_at(RAW_GAIN, cell)] = luminance_gain(luma) * texture_gain(activity);
}

// `box3`, `smooth_over_time`, then the cell's mark: amplitude * gain * tile (`Embedder::mark`).
@compute @workgroup_size(WORKGROUP)
fn cell_mark(@builtin(global_invocation_id) id: vec3<u32>) {
    let cell = thread_index(id);
    if cell >= params.cols * params.rows {
        return;
    }
    let r = i32(cell / params.cols);
    let c = i32(cell % params.cols);
    var sum = 0.0;
    for (var dr = -1; dr <= 1; dr++) {
        for (var dc = -1; dc <= 1; dc++) {
            let rr = u32(clamp(r + dr, 0, i32(params.rows) - 1));
            let cc = u32(clamp(c + dc, 0, i32(params.cols) - 1));
            sum += cells[cell_at(RAW_GAIN, rr * params.cols + cc)];
        }
    }
    var gain = sum / 9.0;
    let luma_sum = cells[cell_at(LUMA_SUM, cell)];
    if params.has_previous != 0u {
        let previous_gain = cells[cell_at(PREVIOUS_GAIN, cell)];
        let previous_sum = cells[cell_at(PREVIOUS_LUMA_SUM, cell)];
        let threshold = CONTENT_CHANGE * max(pixel_count(cell), 1.0) * (1.0 / params.to_8bit);
        if abs(luma_sum - previous_sum) <= threshold {
            gain = previous_gain + TEMPORAL_SMOOTHING * (gain - previous_gain);
        }
    }
    cells[cell_at(PREVIOUS_GAIN, cell)] = gain;
    cells[cell_at(PREVIOUS_LUMA_SUM, cell)] = luma_sum;
    let tile = bitcast<f32>(
        geometry[params.tile_at + (u32(r) % TILE) * TILE + u32(c) % TILE]
    );
    cells[cell_at(CELL_MARK, cell)] = params.amplitude * gain * tile;
}

// ---- Embedding (`Embedder::mark`): separable linear upsampling, added and rounded ----

struct Tap {
    lo: u32,
    hi: u32,
    weight: f32,
}

fn tap(at: u32, i: u32) -> Tap {
    let base = at + 3u * i;
    return Tap(geometry[base], geometry[base + 1u], bitcast<f32>(geometry[base + 2u]));
}

fn interpolate_row(row: u32, col: Tap) -> f32 {
    let a = cells[cell_at(CELL_MARK, row * params.cols + col.lo)];
    let b = cells[cell_at(CELL_MARK, row * params.cols + col.hi)];
    return a + (b - a) * col.weight;
}

@compute @workgroup_size(WORKGROUP)
fn apply_mark(@builtin(global_invocation_id) id: vec3<u32>) {
    let word_index = thread_index(id);
    if word_index >= params.luma_words {
        return;
    }
    var word = frame[word_index];
    let samples = params.width * params.height;
    for (var lane = 0u; lane < SAMPLES_PER_WORD; lane++) {
        let index = word_index * SAMPLES_PER_WORD + lane;
        if index >= samples {
            break;
        }
        let fx = index % params.width;
        let fy = index / params.width;
        // Outside the part of the picture this frame shows (bars) nothing is added.
        if fx < params.shown_x0 || fx >= params.shown_x1 || fy < params.shown_y0
            || fy >= params.shown_y1 {
            continue;
        }
        let x = fx - params.pic_x0;
        let y = fy - params.pic_y0;
        let col = tap(params.col_taps_at, x);
        let row = tap(params.row_taps_at, y);
        let upper = interpolate_row(row.lo, col);
        let lower = interpolate_row(row.hi, col);
        let delta = upper + (lower - upper) * row.weight;
        word = pack(word, lane, to_code(unpack(word, lane) + delta));
    }
    frame[word_index] = word;
}
