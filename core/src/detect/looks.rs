//! Fast verdicts: a file's evidence is looked at on a fixed schedule while it is read, and
//! reading stops at the first look where the verdict is conclusive.
//!
//! Looking at the evidence several times and stopping when it looks good is optional
//! stopping: each look is one more chance of a false answer. The schedule is fixed before
//! the first frame is read (it depends only on the file's stated length), so the union bound
//! over its looks holds whatever the evidence does: every probability a file detection
//! reports is multiplied by [`LookSchedule::charge`], the number of looks the schedule could
//! make on that file, whether or not it stopped early.

use super::Detection;

/// The first look, in seconds of the file; each further look is at twice the last.
pub const FIRST_LOOK_SECONDS: f64 = 4.0;

/// Looks a schedule holds at most (4 s .. 36 h), besides the one at the end of the read.
pub const MAX_LOOKS: usize = 16;

/// False-positive probability (charged for every look and key) at or below which one
/// recipient's ID is a verdict that more video would not change.
pub const CONCLUSIVE_FALSE_POSITIVE: f64 = 1e-12;

/// When detection looks at a file's evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct LookSchedule {
    /// Seconds into the file of each look before the end, in order.
    looks: Vec<f64>,
}

impl LookSchedule {
    /// Looks at 4, 8, 16 … s that fall before `length` seconds (the file's stated length, or
    /// the most a read will take); [`MAX_LOOKS`] when the length is unknown.
    pub fn for_length(length: Option<f64>) -> LookSchedule {
        let looks = (0..MAX_LOOKS)
            .map(|k| FIRST_LOOK_SECONDS * f64::from(1u32 << k))
            .take_while(|&t| length.is_none_or(|length| t < length))
            .collect();
        LookSchedule { looks }
    }

    /// No look before the end: every frame read, one look.
    pub fn none() -> LookSchedule {
        LookSchedule { looks: Vec::new() }
    }

    /// Seconds into the file of each look before the end, in increasing order.
    pub fn looks(&self) -> &[f64] {
        &self.looks
    }

    /// Looks the schedule can make, the one at the end of the read included: what every
    /// probability reported is multiplied by.
    pub fn charge(&self) -> usize {
        self.looks.len() + 1
    }
}

/// Whether `detection`, its probabilities already charged for every look and key, settles
/// the leak: one recipient's ID decoded at [`CONCLUSIVE_FALSE_POSITIVE`], nothing mixed in.
/// A mixed, unreadable or two-step leak is read to the end: more video names more colluders
/// and sessions.
pub fn conclusive(detection: &Detection) -> bool {
    detection.recipient.is_some()
        && detection.mixed_with.is_empty()
        && detection
            .false_positive_probability
            .is_some_and(|p| p <= CONCLUSIVE_FALSE_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_double_from_four_seconds_and_stop_before_the_end() {
        let ten = LookSchedule::for_length(Some(10.0));
        assert_eq!(ten.looks(), &[4.0, 8.0]);
        assert_eq!(ten.charge(), 3);
        let two_hours = LookSchedule::for_length(Some(7200.0));
        assert_eq!(two_hours.looks().len(), 11, "4 s .. 4096 s");
        assert_eq!(LookSchedule::for_length(Some(3.0)).charge(), 1);
        assert_eq!(LookSchedule::for_length(None).charge(), MAX_LOOKS + 1);
        assert_eq!(LookSchedule::none().charge(), 1);
    }
}
