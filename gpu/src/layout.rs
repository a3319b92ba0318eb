//! How a frame and the kernels' parameters sit in GPU memory: the packed planes of a frame
//! buffer, the uniform `Params` block (field for field `mark.wgsl`'s, checked by the tests
//! below), and the stream's geometry tables packed into one word array.

use bytemuck::{Pod, Zeroable};
use filigree::MarkPlan;
use filigree::video::{PixelFormat, Planes, VideoFrame};

/// Where each plane sits in a frame buffer of packed samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameLayout {
    pub(crate) format: PixelFormat,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) chroma_width: usize,
    pub(crate) chroma_height: usize,
    pub(crate) bytes_per_sample: usize,
    pub(crate) luma_words: u64,
    pub(crate) chroma_words: u64,
}

impl FrameLayout {
    pub(crate) fn new(format: PixelFormat, width: usize, height: usize) -> FrameLayout {
        let bytes_per_sample = if format.bit_depth() > 8 { 2 } else { 1 };
        let (chroma_width, chroma_height) = format.chroma_size(width, height);
        let words = |samples: usize| (samples * bytes_per_sample).div_ceil(4) as u64;
        FrameLayout {
            format,
            width,
            height,
            chroma_width,
            chroma_height,
            bytes_per_sample,
            luma_words: words(width * height),
            chroma_words: words(chroma_width * chroma_height),
        }
    }

    pub(crate) fn total_bytes(&self) -> u64 {
        4 * (self.luma_words + 2 * self.chroma_words)
    }

    /// Byte offset of plane `i` (0 = Y', 1 = Cb, 2 = Cr).
    pub(crate) fn plane_offset(&self, i: usize) -> u64 {
        4 * match i {
            0 => 0,
            1 => self.luma_words,
            _ => self.luma_words + self.chroma_words,
        }
    }

    /// Bytes a frame moves each way: luma only, or all planes when an overlay draws on chroma.
    pub(crate) fn transfer_bytes(&self, all_planes: bool) -> u64 {
        if all_planes {
            self.total_bytes()
        } else {
            4 * self.luma_words
        }
    }
}

/// The kernels' uniform parameters; field for field the `Params` struct of `mark.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct Params {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) cols: u32,
    pub(crate) rows: u32,
    pub(crate) luma_words: u32,
    pub(crate) chroma_width: u32,
    pub(crate) chroma_height: u32,
    pub(crate) chroma_words: u32,
    pub(crate) cb_at: u32,
    pub(crate) cr_at: u32,
    pub(crate) sub_x: u32,
    pub(crate) sub_y: u32,
    pub(crate) max_code: f32,
    pub(crate) to_8bit: f32,
    pub(crate) amplitude: f32,
    pub(crate) has_previous: u32,
    pub(crate) col_starts_at: u32,
    pub(crate) row_starts_at: u32,
    pub(crate) col_taps_at: u32,
    pub(crate) row_taps_at: u32,
    pub(crate) tile_at: u32,
    pub(crate) mask_width: u32,
    pub(crate) mask_height: u32,
    pub(crate) corners: u32,
    pub(crate) halo_at: u32,
    pub(crate) corners_at: u32,
    pub(crate) opacity: f32,
    pub(crate) fill_y: f32,
    pub(crate) fill_cb: f32,
    pub(crate) fill_cr: f32,
    pub(crate) halo_y: f32,
    pub(crate) halo_cb: f32,
    pub(crate) halo_cr: f32,
    pub(crate) box_x0: i32,
    pub(crate) box_y0: i32,
    pub(crate) box_x1: i32,
    pub(crate) box_y1: i32,
    pub(crate) pic_x0: u32,
    pub(crate) pic_y0: u32,
    pub(crate) pic_width: u32,
    pub(crate) pic_height: u32,
    pub(crate) shown_x0: u32,
    pub(crate) shown_y0: u32,
    pub(crate) shown_x1: u32,
    pub(crate) shown_y1: u32,
    pub(crate) _pad0: u32,
    pub(crate) _pad1: u32,
    pub(crate) _pad2: u32,
}

/// Copies the first `planes` planes of `frame` into a mapped upload buffer.
pub(crate) fn copy_in(
    layout: &FrameLayout,
    frame: &VideoFrame,
    mapped: &mut wgpu::BufferViewMut,
    planes: usize,
) {
    for i in 0..planes {
        let offset = layout.plane_offset(i) as usize;
        match &frame.planes {
            Planes::Eight(p) => {
                let bytes = p[i].as_slice().expect("planes are contiguous");
                mapped
                    .slice(offset..offset + bytes.len())
                    .copy_from_slice(bytes);
            }
            Planes::High(p) => {
                let bytes: &[u8] =
                    bytemuck::cast_slice(p[i].as_slice().expect("planes are contiguous"));
                mapped
                    .slice(offset..offset + bytes.len())
                    .copy_from_slice(bytes);
            }
        }
    }
}

/// Copies the first `planes` planes from a mapped readback buffer into `frame`.
pub(crate) fn copy_out(layout: &FrameLayout, mapped: &[u8], frame: &mut VideoFrame, planes: usize) {
    for i in 0..planes {
        let offset = layout.plane_offset(i) as usize;
        match &mut frame.planes {
            Planes::Eight(p) => {
                let out = p[i].as_slice_mut().expect("planes are contiguous");
                let len = out.len();
                out.copy_from_slice(&mapped[offset..offset + len]);
            }
            Planes::High(p) => {
                let out: &mut [u8] =
                    bytemuck::cast_slice_mut(p[i].as_slice_mut().expect("planes are contiguous"));
                let len = out.len();
                out.copy_from_slice(&mapped[offset..offset + len]);
            }
        }
    }
}

/// Packs the stream's tables into one word array: column starts, row starts, column taps,
/// row taps (lower, upper, weight bits), tile. Returns the words and each table's offset.
pub(crate) fn pack_geometry(plan: &MarkPlan) -> (Vec<u32>, [u32; 5]) {
    let mut words = Vec::new();
    let mut offsets = [0u32; 5];
    offsets[0] = words.len() as u32;
    words.extend(&plan.col_starts);
    offsets[1] = words.len() as u32;
    words.extend(&plan.row_starts);
    for (i, taps) in [&plan.col_taps, &plan.row_taps].into_iter().enumerate() {
        offsets[2 + i] = words.len() as u32;
        words.extend(taps.iter().flat_map(|&(lo, hi, w)| [lo, hi, w.to_bits()]));
    }
    offsets[4] = words.len() as u32;
    words.extend(plan.tile.iter().map(|v| v.to_bits()));
    (words, offsets)
}

#[cfg(test)]
mod tests {
    use std::any::type_name_of_val;
    use std::mem::{offset_of, size_of_val};

    use super::*;

    /// One field of a struct as the shader and the host lay it out: name, type (as Rust
    /// names the type with the same bytes), offset and size in bytes.
    type Field = (String, String, usize, usize);

    /// Size, alignment and Rust twin of a WGSL type in the uniform address space.
    fn wgsl_type(ty: &str) -> (usize, usize, String) {
        match ty {
            "f32" | "u32" | "i32" => return (4, 4, ty.to_string()),
            _ => {}
        }
        if let Some(inner) = ty.strip_prefix("array<").and_then(|t| t.strip_suffix('>')) {
            let (element, count) = inner.rsplit_once(',').expect("a fixed-size array");
            let count: usize = count.trim().parse().expect("an array length");
            let (size, align, rust) = wgsl_type(element.trim());
            let stride = size.next_multiple_of(align);
            assert!(
                stride.is_multiple_of(16),
                "{ty}: a uniform array's stride must be a multiple of 16"
            );
            return (
                stride * count,
                align.next_multiple_of(16),
                format!("[{rust}; {count}]"),
            );
        }
        let (n, scalar) = match ty.strip_prefix("vec").map(|t| t.split_at(1)) {
            Some((n, "f")) => (n, "f32"),
            Some((n, "u")) => (n, "u32"),
            Some((n, "i")) => (n, "i32"),
            Some((n, t)) => (
                n,
                t.strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .unwrap_or(t),
            ),
            None => panic!("WGSL type {ty:?} not handled here"),
        };
        let n: usize = n.parse().unwrap_or_else(|_| panic!("WGSL type {ty:?}"));
        let (size, _, rust) = wgsl_type(scalar);
        let align = match n {
            2 => 8,
            3 | 4 => 16,
            _ => panic!("WGSL type {ty:?}"),
        };
        (n * size, align, format!("[{rust}; {n}]"))
    }

    /// The fields of WGSL struct `name` in `source` laid out for a uniform buffer, and the
    /// struct's size.
    fn wgsl_struct(source: &str, name: &str) -> (Vec<Field>, usize) {
        let start = source
            .find(&format!("struct {name} {{"))
            .unwrap_or_else(|| panic!("no struct {name}"));
        let body = &source[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
        let code: String = body
            .lines()
            .map(|line| line.split("//").next().unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        // Members are separated by commas outside `<...>`.
        let mut members = vec![String::new()];
        let mut depth = 0;
        for c in code.chars() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                ',' if depth == 0 => {
                    members.push(String::new());
                    continue;
                }
                _ => {}
            }
            members.last_mut().unwrap().push(c);
        }
        let (mut fields, mut end, mut struct_align) = (Vec::new(), 0usize, 1);
        for member in members.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
            assert!(!member.starts_with('@'), "attributes not handled: {member}");
            let (field, ty) = member.split_once(':').expect("name: type");
            let ty: String = ty.split_whitespace().collect();
            let (size, align, rust) = wgsl_type(&ty);
            let offset = end.next_multiple_of(align);
            fields.push((field.trim().to_string(), rust, offset, size));
            end = offset + size;
            struct_align = struct_align.max(align);
        }
        (fields, end.next_multiple_of(struct_align))
    }

    /// `Params`' fields as the host lays them out, in the order they are listed.
    macro_rules! host_fields {
        ($($field:ident),* $(,)?) => {{
            let params = Params::zeroed();
            vec![$((
                stringify!($field).to_string(),
                type_name_of_val(&params.$field).to_string(),
                offset_of!(Params, $field),
                size_of_val(&params.$field),
            )),*]
        }};
    }

    #[test]
    fn params_has_the_layout_of_the_shaders_params() {
        let (shader, shader_size) = wgsl_struct(include_str!("mark.wgsl"), "Params");
        let host: Vec<Field> = host_fields!(
            width,
            height,
            cols,
            rows,
            luma_words,
            chroma_width,
            chroma_height,
            chroma_words,
            cb_at,
            cr_at,
            sub_x,
            sub_y,
            max_code,
            to_8bit,
            amplitude,
            has_previous,
            col_starts_at,
            row_starts_at,
            col_taps_at,
            row_taps_at,
            tile_at,
            mask_width,
            mask_height,
            corners,
            halo_at,
            corners_at,
            opacity,
            fill_y,
            fill_cb,
            fill_cr,
            halo_y,
            halo_cb,
            halo_cr,
            box_x0,
            box_y0,
            box_x1,
            box_y1,
            pic_x0,
            pic_y0,
            pic_width,
            pic_height,
            shown_x0,
            shown_y0,
            shown_x1,
            shown_y1,
            _pad0,
            _pad1,
            _pad2,
        );
        for i in 0..shader.len().max(host.len()) {
            assert_eq!(
                shader.get(i),
                host.get(i),
                "field {i} of Params: (name, type, offset, size) in mark.wgsl, then in Rust"
            );
        }
        assert_eq!(shader_size, size_of::<Params>(), "size of Params");
    }

    #[test]
    fn wgsl_layout_follows_the_alignment_rules() {
        let source = "struct S {
            a: f32, // a comment, with a comma
            b: vec2<f32>,
            c: u32,
            d: vec4f,
            e: array<vec4<u32>, 2>,
            f: i32,
        }";
        let (fields, size) = wgsl_struct(source, "S");
        let layout: Vec<(&str, &str, usize, usize)> = fields
            .iter()
            .map(|(n, t, o, s)| (n.as_str(), t.as_str(), *o, *s))
            .collect();
        assert_eq!(
            layout,
            [
                ("a", "f32", 0, 4),
                ("b", "[f32; 2]", 8, 8),
                ("c", "u32", 16, 4),
                ("d", "[f32; 4]", 32, 16),
                ("e", "[[u32; 4]; 2]", 48, 32),
                ("f", "i32", 80, 4),
            ]
        );
        assert_eq!(size, 96);
    }
}
