//! YUV4MPEG2 (y4m) streams (in progress).
