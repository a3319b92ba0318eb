//! The video encoders Filigree writes with, and how each is set up: its quality control (a
//! constant rate factor, or a fixed-rate profile for the mezzanine codecs), its speed preset,
//! and the profile that fits the output's pixel format.

use super::PixelFormat;

/// Video encoders Filigree writes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264 through libx264.
    X264,
    /// H.265/HEVC through libx265.
    X265,
    /// Apple ProRes through FFmpeg's prores_ks: 422 HQ, or 4444 for 4:4:4 output.
    ProRes,
    /// Avid DNxHR through FFmpeg's dnxhd: HQX for 10-bit 4:2:2, 444 for 10-bit 4:4:4, HQ
    /// (8-bit 4:2:2) otherwise.
    DnxHr,
    /// AV1 through SVT-AV1.
    SvtAv1,
    /// VP9 through libvpx.
    Vp9,
    /// H.264 on an NVIDIA GPU's encoder (NVENC), where FFmpeg and the driver have it.
    Nvenc,
}

impl Codec {
    /// Every encoder, in the order [`Codec::names`] lists them.
    pub const ALL: [Codec; 7] = [
        Codec::X264,
        Codec::X265,
        Codec::ProRes,
        Codec::DnxHr,
        Codec::SvtAv1,
        Codec::Vp9,
        Codec::Nvenc,
    ];

    /// Accepts FFmpeg's encoder name or the format's name (case-insensitive): `libx264`,
    /// `x264`, `h264`; `libx265`, `x265`, `hevc`, `h265`; `prores_ks`, `prores`; `dnxhd`,
    /// `dnxhr`; `libsvtav1`, `svtav1`, `av1`; `libvpx-vp9`, `vp9`; `h264_nvenc`, `nvenc`.
    pub fn from_name(name: &str) -> Option<Codec> {
        Some(match name.to_ascii_lowercase().as_str() {
            "libx264" | "x264" | "h264" => Codec::X264,
            "libx265" | "x265" | "hevc" | "h265" => Codec::X265,
            "prores_ks" | "prores" => Codec::ProRes,
            "dnxhd" | "dnxhr" => Codec::DnxHr,
            "libsvtav1" | "svtav1" | "av1" => Codec::SvtAv1,
            "libvpx-vp9" | "vp9" => Codec::Vp9,
            "h264_nvenc" | "nvenc" => Codec::Nvenc,
            _ => return None,
        })
    }

    /// FFmpeg's encoder name.
    pub fn encoder_name(self) -> &'static str {
        match self {
            Codec::X264 => "libx264",
            Codec::X265 => "libx265",
            Codec::ProRes => "prores_ks",
            Codec::DnxHr => "dnxhd",
            Codec::SvtAv1 => "libsvtav1",
            Codec::Vp9 => "libvpx-vp9",
            Codec::Nvenc => "h264_nvenc",
        }
    }

    /// Every encoder name, for messages: "libx264, libx265, ...".
    pub fn names() -> String {
        Codec::ALL.map(Codec::encoder_name).join(", ")
    }

    /// The CRF used when none is given: visually lossless for each encoder. `None` for
    /// ProRes and DNxHR, whose profile fixes the rate. (NVENC's constant-quality `cq`
    /// stands in for a CRF.)
    pub fn default_crf(self) -> Option<u8> {
        match self {
            Codec::X264 | Codec::Nvenc => Some(17),
            Codec::X265 => Some(19),
            Codec::SvtAv1 => Some(22),
            Codec::Vp9 => Some(20),
            Codec::ProRes | Codec::DnxHr => None,
        }
    }

    /// Highest CRF the encoder accepts (`None`: it has no CRF).
    pub fn max_crf(self) -> Option<u8> {
        match self {
            Codec::X264 | Codec::X265 | Codec::Nvenc => Some(51),
            Codec::SvtAv1 | Codec::Vp9 => Some(63),
            Codec::ProRes | Codec::DnxHr => None,
        }
    }

    /// The speed preset used when none is given: x264/x265 `medium`, SVT-AV1 preset 8,
    /// libvpx `cpu-used` 4. `None` for encoders without presets.
    pub fn default_preset(self) -> Option<&'static str> {
        match self {
            Codec::X264 | Codec::X265 => Some("medium"),
            Codec::SvtAv1 => Some("8"),
            Codec::Vp9 => Some("4"),
            Codec::Nvenc => Some("p4"),
            Codec::ProRes | Codec::DnxHr => None,
        }
    }

    /// What each encoder calls its speed setting.
    fn preset_option(self) -> &'static str {
        match self {
            Codec::Vp9 => "cpu-used",
            _ => "preset",
        }
    }
}

/// How a file's video is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Which encoder writes the video.
    pub codec: Codec,
    /// Constant rate factor; `None` uses [`Codec::default_crf`]. Refused for ProRes and DNxHR.
    pub crf: Option<u8>,
    /// Speed preset in the encoder's own terms (x264's `ultrafast` ... `placebo`, SVT-AV1's
    /// `0` ... `13`, libvpx's `cpu-used` `0` ... `8`); `None` uses [`Codec::default_preset`].
    pub preset: Option<String>,
    /// Pixel format of the encoded video; `None` keeps the source's where the encoder takes
    /// it, or picks the encoder's closest one. Frames are marked at the source's format and
    /// converted after marking.
    pub pix_fmt: Option<PixelFormat>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            codec: Codec::X264,
            crf: None,
            preset: None,
            pix_fmt: None,
        }
    }
}

impl EncodeOptions {
    /// The CRF the encoder will use, if it uses one.
    pub fn effective_crf(&self) -> Option<u8> {
        self.crf.or(self.codec.default_crf())
    }

    /// The preset the encoder will use, if it has presets.
    pub fn effective_preset(&self) -> Option<&str> {
        self.preset.as_deref().or(self.codec.default_preset())
    }

    /// Checks the CRF and preset against the codec; the reason for the user otherwise.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.codec.encoder_name();
        match (self.crf, self.codec.max_crf()) {
            (Some(_), None) => {
                return Err(format!(
                    "{name} has no CRF (its profile sets the quality); leave out --crf"
                ));
            }
            (Some(crf), Some(max)) if crf > max => {
                return Err(format!("CRF {crf} is out of range for {name} (0-{max})"));
            }
            _ => {}
        }
        if self.preset.is_some() && self.codec.default_preset().is_none() {
            return Err(format!("{name} has no presets; leave out --preset"));
        }
        Ok(())
    }

    /// The encoder's private options for output in `format`: quality, speed and profile.
    pub(crate) fn encoder_options(&self, format: PixelFormat) -> Vec<(&'static str, String)> {
        let mut options = Vec::new();
        if let Some(crf) = self.effective_crf() {
            match self.codec {
                // NVENC's constant quality: variable rate with no target bit rate.
                Codec::Nvenc => {
                    options.push(("rc", "vbr".into()));
                    options.push(("cq", crf.to_string()));
                    options.push(("b", "0".into()));
                }
                _ => options.push(("crf", crf.to_string())),
            }
        }
        if let Some(preset) = self.effective_preset() {
            options.push((self.codec.preset_option(), preset.to_string()));
        }
        let profile = match (self.codec, format) {
            (Codec::ProRes, PixelFormat::Yuv444p10) => Some("4444"),
            (Codec::ProRes, _) => Some("hq"),
            (Codec::DnxHr, PixelFormat::Yuv422p10) => Some("dnxhr_hqx"),
            (Codec::DnxHr, PixelFormat::Yuv444p10) => Some("dnxhr_444"),
            (Codec::DnxHr, _) => Some("dnxhr_hq"),
            _ => None,
        };
        if let Some(profile) = profile {
            options.push(("profile", profile.to_string()));
        }
        match self.codec {
            Codec::X265 => options.push(("x265-params", "log-level=error".into())),
            Codec::Vp9 => {
                // Constant quality needs the target bit rate at 0 (the default is 200 kb/s).
                options.push(("b", "0".into()));
                options.push(("deadline", "good".into()));
                options.push(("row-mt", "1".into()));
            }
            _ => {}
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for codec in Codec::ALL {
            assert_eq!(Codec::from_name(codec.encoder_name()), Some(codec));
        }
        assert_eq!(Codec::from_name("ProRes"), Some(Codec::ProRes));
        assert_eq!(Codec::from_name("mpeg2video"), None);
    }

    #[test]
    fn quality_settings_fit_the_codec() {
        let prores = EncodeOptions {
            codec: Codec::ProRes,
            ..EncodeOptions::default()
        };
        assert_eq!(prores.validate(), Ok(()));
        assert_eq!(prores.effective_crf(), None);
        let with_crf = EncodeOptions {
            crf: Some(20),
            ..prores.clone()
        };
        assert!(with_crf.validate().unwrap_err().contains("no CRF"));
        let with_preset = EncodeOptions {
            preset: Some("fast".into()),
            ..prores
        };
        assert!(with_preset.validate().unwrap_err().contains("no presets"));
        let av1 = EncodeOptions {
            codec: Codec::SvtAv1,
            crf: Some(63),
            ..EncodeOptions::default()
        };
        assert_eq!(av1.validate(), Ok(()));
        let x264 = EncodeOptions {
            crf: Some(52),
            ..EncodeOptions::default()
        };
        assert!(x264.validate().unwrap_err().contains("0-51"));
    }

    #[test]
    fn profiles_follow_the_output_format() {
        let profile = |codec, format| {
            EncodeOptions {
                codec,
                ..EncodeOptions::default()
            }
            .encoder_options(format)
            .into_iter()
            .find(|(name, _)| *name == "profile")
            .map(|(_, value)| value)
        };
        assert_eq!(
            profile(Codec::ProRes, PixelFormat::Yuv422p10).unwrap(),
            "hq"
        );
        assert_eq!(
            profile(Codec::ProRes, PixelFormat::Yuv444p10).unwrap(),
            "4444"
        );
        assert_eq!(
            profile(Codec::DnxHr, PixelFormat::Yuv422p10).unwrap(),
            "dnxhr_hqx"
        );
        assert_eq!(
            profile(Codec::DnxHr, PixelFormat::Yuv422p).unwrap(),
            "dnxhr_hq"
        );
        assert_eq!(profile(Codec::X264, PixelFormat::Yuv420p), None);
    }
}
