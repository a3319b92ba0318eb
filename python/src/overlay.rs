//! The `overlay=` argument: a template string or a dict of options, converted to the
//! library's `OverlayConfig` and `SessionInfo`. Rendering and compositing are all in core.

use filigree::overlay::{self, Overlay, OverlayConfig, Position, SessionInfo, Style};
use filigree::video::Rational;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::{Kind, to_py};

/// The keys an overlay dict may hold.
const KEYS: [&str; 8] = [
    "template", "size", "opacity", "color", "style", "position", "session", "label",
];

/// Frame rate assumed for `{timecode}` when marking numpy frames (files use their own).
pub(crate) const FRAME_RATE: Rational = Rational::new(25, 1);

/// A parsed `overlay=` argument.
pub(crate) struct OverlayOptions {
    config: OverlayConfig,
    session: Option<String>,
    label: Option<String>,
}

impl OverlayOptions {
    /// Reads `overlay=`: `None`, a template string, or a dict with the keys in [`KEYS`].
    pub(crate) fn from_py(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<OverlayOptions>> {
        let Some(value) = value.filter(|v| !v.is_none()) else {
            return Ok(None);
        };
        let mut options = OverlayOptions {
            config: OverlayConfig::default(),
            session: None,
            label: None,
        };
        if let Ok(template) = value.cast::<PyString>() {
            options.config.template = template.to_str()?.to_string();
        } else if let Ok(dict) = value.cast::<PyDict>() {
            for (name, item) in dict.iter() {
                let name: String = name.extract().map_err(|_| {
                    Kind::InvalidInput.err("overlay: dict keys must be strings".to_string())
                })?;
                if item.is_none() {
                    continue;
                }
                options.set(&name, &item)?;
            }
        } else {
            let type_name = value.get_type().name()?;
            return Err(invalid(format!(
                "expected a template string or a dict of options, got {type_name}"
            )));
        }
        options.config.validate().map_err(to_py)?;
        Ok(Some(options))
    }

    fn set(&mut self, name: &str, item: &Bound<'_, PyAny>) -> PyResult<()> {
        let text = |what: &str| -> PyResult<String> {
            item.extract::<String>()
                .map_err(|_| invalid(format!("{name} must be {what}")))
        };
        let number = || -> PyResult<f32> {
            item.extract::<f32>()
                .map_err(|_| invalid(format!("{name} must be a number")))
        };
        let config = &mut self.config;
        match name {
            "template" => config.template = text("a string")?,
            "size" => config.size = number()?,
            "opacity" => config.opacity = number()?,
            "color" => config.color = color(item)?,
            "style" => {
                let style = text("a string")?;
                config.style = Style::from_name(&style).ok_or_else(|| {
                    invalid(format!(
                        "unknown style {style:?} (use outline, shadow or none)"
                    ))
                })?;
            }
            "position" => {
                let position = text("a string")?;
                config.position = Position::from_name(&position).ok_or_else(|| {
                    let names: Vec<&str> = Position::NAMES.iter().map(|(n, _)| *n).collect();
                    invalid(format!(
                        "unknown position {position:?} (use {})",
                        names.join(", ")
                    ))
                })?;
            }
            "session" => self.session = Some(text("a string")?),
            "label" => self.label = Some(text("a string")?),
            _ => {
                return Err(invalid(format!(
                    "unknown option {name:?} (use {})",
                    KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The overlay's look.
    pub(crate) fn config(&self) -> &OverlayConfig {
        &self.config
    }

    /// The session shown: this recipient, the dict's `label` (else `default_label`), the
    /// dict's `session` (else a random ID), starting now.
    pub(crate) fn session_info(
        &self,
        recipient: u32,
        default_label: Option<&str>,
    ) -> filigree::Result<SessionInfo> {
        let session = match &self.session {
            Some(id) => id.clone(),
            None => SessionInfo::random_id()?,
        };
        let label = self.label.as_deref().or(default_label).map(str::to_string);
        Ok(SessionInfo::new(recipient, label, session))
    }

    /// The overlay for `width` x `height` numpy frames at [`FRAME_RATE`].
    pub(crate) fn build(
        &self,
        key: &filigree::Key,
        recipient: u32,
        width: usize,
        height: usize,
    ) -> filigree::Result<Overlay> {
        let session = self.session_info(recipient, None)?;
        Overlay::new(&self.config, &session, key, width, height, FRAME_RATE)
    }
}

fn invalid(reason: String) -> PyErr {
    Kind::InvalidInput.err(format!("overlay: {reason}"))
}

/// `"RRGGBB"` (or `"#RRGGBB"`) or an `(r, g, b)` sequence of 0..=255 integers.
fn color(item: &Bound<'_, PyAny>) -> PyResult<[u8; 3]> {
    let wrong = || {
        invalid(format!(
            "color must be \"RRGGBB\" hex or an (r, g, b) triple of 0..=255 integers, got {}",
            item.repr()
                .map_or_else(|_| "?".to_string(), |r| r.to_string())
        ))
    };
    if let Ok(text) = item.extract::<String>() {
        return overlay::parse_color(&text).ok_or_else(wrong);
    }
    if let Ok(triple) = item.extract::<Vec<i64>>()
        && let [r, g, b] = triple[..]
    {
        let channel = |v: i64| u8::try_from(v).map_err(|_| wrong());
        return Ok([channel(r)?, channel(g)?, channel(b)?]);
    }
    Err(wrong())
}
