//! Payload framing and error-correcting code (in progress).
