//! Encoding: H.264 (libx264) into a faststart MP4, and the poster JPEG.

use std::fs;
use std::path::Path;

use ffmpeg_next as ffmpeg;
use ffmpeg_next::error::EAGAIN;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Dictionary, Packet, Rational, codec, encoder, format, frame, picture};

use super::contract::{OUTPUT_FPS, OUTPUT_HEIGHT, OUTPUT_WIDTH, PipelineError, PipelineSettings};
use super::probe::file_url;

/// An H.264 encoder writing one video stream into an MP4 file.
pub(crate) struct H264Writer {
    output: format::context::Output,
    encoder: encoder::Video,
    encoder_time_base: Rational,
    stream_time_base: Rational,
    packet: Packet,
}

impl H264Writer {
    /// The showcase clip's writer: 1280×720 at 30 fps with the settings' preset and CRF.
    pub fn create(path: &Path, settings: &PipelineSettings) -> Result<Self, PipelineError> {
        Self::create_sized(path, OUTPUT_WIDTH, OUTPUT_HEIGHT, settings)
    }

    /// A writer for `width`×`height` yuv420p frames at 30 fps whose pts count frames.
    pub fn create_sized(
        path: &Path,
        width: u32,
        height: u32,
        settings: &PipelineSettings,
    ) -> Result<Self, PipelineError> {
        let url = file_url(path)?;
        let mut output = format::output_as(&url, "mp4")
            .map_err(PipelineError::ffmpeg("creating the output file"))?;
        let codec = encoder::find_by_name("libx264").ok_or(PipelineError::Ffmpeg {
            stage: "finding the H.264 encoder",
            error: ffmpeg::Error::EncoderNotFound,
        })?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let encoder_time_base = Rational::new(1, OUTPUT_FPS as i32);

        let mut context = codec::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(PipelineError::ffmpeg("allocating the encoder"))?;
        context.set_width(width);
        context.set_height(height);
        context.set_format(format::Pixel::YUV420P);
        context.set_aspect_ratio(Rational::new(1, 1));
        context.set_time_base(encoder_time_base);
        context.set_frame_rate(Some(Rational::new(OUTPUT_FPS as i32, 1)));
        if global_header {
            context.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        options.set("preset", &settings.preset);
        options.set("crf", &settings.crf.to_string());
        // libx264 takes its thread count from the codec context, which defaults to 1.
        options.set(
            "threads",
            &super::contract::threads_option(settings.threads),
        );
        let encoder = context
            .open_with(options)
            .map_err(PipelineError::ffmpeg("opening libx264"))?;

        let mut stream = output
            .add_stream(codec)
            .map_err(PipelineError::ffmpeg("adding the video stream"))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(encoder_time_base);
        stream.set_avg_frame_rate(Rational::new(OUTPUT_FPS as i32, 1));
        stream.set_rate(Rational::new(OUTPUT_FPS as i32, 1));

        let mut muxer_options = Dictionary::new();
        // The index goes in front of the media data so browsers can start playing at once.
        muxer_options.set("movflags", "+faststart");
        output
            .write_header_with(muxer_options)
            .map_err(PipelineError::ffmpeg("writing the MP4 header"))?;
        let stream_time_base =
            output
                .stream(0)
                .map(|stream| stream.time_base())
                .ok_or(PipelineError::Ffmpeg {
                    stage: "writing the MP4 header",
                    error: ffmpeg::Error::StreamNotFound,
                })?;

        Ok(Self {
            output,
            encoder,
            encoder_time_base,
            stream_time_base,
            packet: Packet::empty(),
        })
    }

    /// Encodes `frame` as frame number `index` of the clip (one frame = 1/30 s).
    pub fn encode(&mut self, frame: &mut frame::Video, index: u64) -> Result<(), PipelineError> {
        frame.set_pts(Some(index as i64));
        // Let x264 choose frame types; a type left over from decoding would force it.
        frame.set_kind(picture::Type::None);
        self.encoder
            .send_frame(frame)
            .map_err(PipelineError::ffmpeg("encoding"))?;
        self.write_packets()
    }

    /// Flushes the encoder and writes the MP4 index (moved to the front by faststart).
    pub fn finish(&mut self) -> Result<(), PipelineError> {
        self.encoder
            .send_eof()
            .map_err(PipelineError::ffmpeg("flushing the encoder"))?;
        self.write_packets()?;
        self.output
            .write_trailer()
            .map_err(PipelineError::ffmpeg("writing the MP4 index"))
    }

    fn write_packets(&mut self) -> Result<(), PipelineError> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == EAGAIN => return Ok(()),
                Err(error) => return Err(PipelineError::ffmpeg("encoding")(error)),
            }
            self.packet.set_stream(0);
            // Every frame lasts exactly 1/30 s; without it the muxer guesses the last one.
            self.packet.set_duration(1);
            self.packet
                .rescale_ts(self.encoder_time_base, self.stream_time_base);
            self.packet
                .write_interleaved(&mut self.output)
                .map_err(PipelineError::ffmpeg("writing the MP4"))?;
        }
    }
}

/// Writes `frame` as a baseline JPEG (quality comparable to `ffmpeg -q:v 3`).
pub(crate) fn write_jpeg(frame: &frame::Video, path: &Path) -> Result<(), PipelineError> {
    let codec = encoder::find(codec::Id::MJPEG).ok_or(PipelineError::Ffmpeg {
        stage: "finding the JPEG encoder",
        error: ffmpeg::Error::EncoderNotFound,
    })?;
    let (width, height) = (frame.width(), frame.height());
    let mut context = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(PipelineError::ffmpeg("allocating the JPEG encoder"))?;
    context.set_width(width);
    context.set_height(height);
    // The JPEG encoder wants full-range ("J") YUV; swscale converts the range.
    context.set_format(format::Pixel::YUVJ420P);
    context.set_time_base(Rational::new(1, OUTPUT_FPS as i32));
    // Fixed quantiser instead of rate control: qmin = qmax pins the quality for a single picture.
    context.set_flags(codec::Flags::QSCALE);
    context.set_qmin(3);
    context.set_qmax(3);
    let mut encoder = context
        .open()
        .map_err(PipelineError::ffmpeg("opening the JPEG encoder"))?;

    let mut scaler = scaling::Context::get(
        frame.format(),
        width,
        height,
        format::Pixel::YUVJ420P,
        width,
        height,
        scaling::Flags::BICUBIC,
    )
    .map_err(PipelineError::ffmpeg("preparing the poster"))?;
    let mut picture = frame::Video::empty();
    scaler
        .run(frame, &mut picture)
        .map_err(PipelineError::ffmpeg("preparing the poster"))?;
    picture.set_pts(Some(0));

    encoder
        .send_frame(&picture)
        .and_then(|()| encoder.send_eof())
        .map_err(PipelineError::ffmpeg("encoding the poster"))?;
    let mut packet = Packet::empty();
    encoder
        .receive_packet(&mut packet)
        .map_err(PipelineError::ffmpeg("encoding the poster"))?;
    let bytes = packet.data().ok_or(PipelineError::Ffmpeg {
        stage: "encoding the poster",
        error: ffmpeg::Error::InvalidData,
    })?;
    fs::write(path, bytes).map_err(|error| PipelineError::Io {
        action: "writing",
        path: path.to_owned(),
        error,
    })
}
