//! Integration tests of the worker: the showcase pipeline (inputs made with the ffmpeg CLI in a
//! temporary directory, outputs checked with ffprobe, raw decoded frames and the MP4 box layout)
//! and the queue consumer driven step by step.

mod consumer;
mod failures;
mod geometry;
mod sources;
mod support;
mod timing;
