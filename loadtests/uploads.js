// Bursts of real MP4 uploads for Rising Stars, plain k6:
//   VIDEO=/abs/path/clip.mp4 k6 run loadtests/uploads.js
// Each burst is VUS simultaneous uploads (one per VU) of the same file; bursts start PAUSE apart.
// They fill the worker queue and make the workers scale; the upload requests themselves are
// measured too (tag endpoint `upload`).
//
// Environment:
//   VIDEO      (required) the MP4 to upload. An absolute path is safest (k6 resolves a relative
//              one against this script's folder, like open()). It must pass the API's rules:
//              MP4, H.264/H.265/AV1/MPEG-4, ≤ 100 MB, 20–60 s, shorter side ≥ 1080 px.
//   BASE_URL   the API (default http://127.0.0.1:8080; a trailing slash is trimmed)
//   BURSTS     how many bursts (default 3)
//   VUS        uploads per burst, all at once (default 5)
//   PAUSE      time from one burst's start to the next one's (default 30s; k6 duration syntax).
//              The next burst starts on time even if the previous one is still uploading, so the
//              queue receives VUS videos every PAUSE whatever the upload speed.
//   USERS      accounts created through the API in setup, uploads spread over them
//              (default: VUS, so each account sends one upload per burst). The API lets an
//              account have UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT (default 5) videos waiting for or in
//              processing: keep BURSTS × VUS / USERS within it (3 by default), or raise it.
//   TIMEOUT    per-upload request timeout (default 5m; k6's own default of 60s is too short for
//              100 MB over a slow link)
//   SUMMARY    file to write the end-of-test summary JSON to (handleSummary; default: none). With
//              it, stdout gets a compact text summary; without it, k6's usual one.
//
// Make a test video by hand (1920×1080, 25 s, H.264, no audio; constant bitrate sets the size:
// kbit/s = MB × 8000 × 0.97 / 25, i.e. 15520k → ~50 MB, 31040k → ~97 MB):
//   ffmpeg -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=25 \
//     -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
//     -b:v 15520k -minrate 15520k -maxrate 15520k -bufsize 31040k -x264-params nal-hrd=cbr \
//     -movflags +faststart clip-50mb.mp4
//
// Memory: the file is opened once with k6/experimental/fs (one copy in k6, shared by all VUs)
// and each upload builds its multipart body in a buffer of its own, dropped after the request.
// (k6's open(path, 'b') would copy the file into every VU at start-up — BURSTS × VUS VUs, as the
// bursts' scenarios overlap in k6's plan — and http.file() once more per request.) k6 still holds
// about three copies per upload in flight (the body, its own copy of the request, and Go's garbage
// collector's slack). Measured with a 97 MB file, k6 peak RSS: 1 burst × 5 VUs 1.5 GB;
// 3 bursts × 5 VUs 10 s apart 2.1 GB (open() + http.file(): 4.1 GB); the same with
// GOMEMLIMIT=1GiB in k6's environment 1.2 GB.
import { open as openFile, SeekMode } from 'k6/experimental/fs';
import exec from 'k6/execution';
import { check } from 'k6';
import { createUsers, endpointThresholds, post, runId, summaryOutputs } from './lib/common.js';

if (!__ENV.VIDEO) {
  throw new Error('VIDEO must name the MP4 file to upload (see the header of uploads.js)');
}
const BURSTS = parseInt(__ENV.BURSTS || '3', 10);
const VUS = parseInt(__ENV.VUS || '5', 10);
const PAUSE = __ENV.PAUSE || '30s';
const USERS = parseInt(__ENV.USERS || String(VUS), 10);
const TIMEOUT = __ENV.TIMEOUT || '5m';
if (!(BURSTS > 0) || !(VUS > 0) || !(USERS > 0)) {
  throw new Error('BURSTS, VUS and USERS must be positive numbers');
}

/** Seconds in a k6-style duration ("30s", "1m30s", "500ms", "2h", or a plain number of seconds). */
function durationSeconds(text) {
  if (/^\d+(\.\d+)?$/.test(text)) {
    return parseFloat(text);
  }
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (!parts || parts.join('') !== text) {
    throw new Error(`PAUSE is not a duration: "${text}" (e.g. 30s, 1m30s)`);
  }
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, part) => {
    const [, n, u] = part.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/);
    return sum + parseFloat(n) * unit[u];
  }, 0);
}
const PAUSE_S = durationSeconds(PAUSE);

// Opened once per VU at init; k6 keeps a single copy of the content for all of them.
const video = await openFile(__ENV.VIDEO);
const VIDEO_SIZE = (await video.stat()).size;
const FILENAME = __ENV.VIDEO.split('/').pop();

function scenarios() {
  const all = {};
  for (let i = 0; i < BURSTS; i++) {
    all[`burst_${i + 1}`] = {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      startTime: `${Math.round(i * PAUSE_S * 1000)}ms`,
      maxDuration: '15m',
    };
  }
  return all;
}

const ENDPOINTS = ['upload'];

export const options = {
  scenarios: scenarios(),
  // p95 of uploads bounded loosely (a 100 MB upload takes seconds even on loopback); errors
  // ≤ 5 % overall and for uploads alone (the latter replaces endpointThresholds' always-true
  // one), and ≥ 95 % of the uploads' checks (201 with a video_id) passing.
  thresholds: Object.assign(endpointThresholds(ENDPOINTS, 30000), {
    http_req_failed: ['rate<0.05'],
    'http_req_failed{endpoint:upload}': ['rate<0.05'],
    'checks{endpoint:upload}': ['rate>0.95'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '5m',
};

export function setup() {
  const run = runId();
  return { run, tokens: createUsers(USERS, { run, prefix: 'k6-upload' }).map((u) => u.token) };
}

/** UTF-8 bytes of a string. */
function utf8(text) {
  const binary = unescape(encodeURIComponent(text));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

// Reads go through this VU's own 1 MiB chunk: k6 1.1's File.read() fills a typed array from the
// start of its underlying buffer, ignoring a subarray's offset, so it cannot read in place.
let chunk = null;

/** The multipart/form-data body of one upload: `title`, then the file as `video_file`. */
async function multipartBody(boundary, title) {
  const head = utf8(`--${boundary}\r\n`
    + 'Content-Disposition: form-data; name="title"\r\n\r\n'
    + `${title}\r\n`
    + `--${boundary}\r\n`
    + `Content-Disposition: form-data; name="video_file"; filename="${FILENAME.replace(/"/g, '')}"\r\n`
    + 'Content-Type: video/mp4\r\n\r\n');
  const tail = utf8(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.length + VIDEO_SIZE + tail.length);
  body.set(head, 0);
  chunk = chunk || new Uint8Array(1 << 20);
  await video.seek(0, SeekMode.Start);
  let read = 0;
  while (read < VIDEO_SIZE) {
    const n = await video.read(chunk);
    if (n === null) {
      break;
    }
    body.set(n === chunk.length ? chunk : chunk.subarray(0, n), head.length + read);
    read += n;
  }
  if (read !== VIDEO_SIZE) {
    throw new Error(`read ${read} of ${VIDEO_SIZE} bytes of ${__ENV.VIDEO}`);
  }
  body.set(tail, head.length + VIDEO_SIZE);
  return body;
}

export default async function (data) {
  const burst = exec.scenario.name;
  const vu = exec.vu.idInTest;
  const token = data.tokens[(vu - 1) % data.tokens.length];
  const title = `k6 ${data.run} ${burst} VU ${vu}`;
  const boundary = `k6-rising-stars-${runId()}`;
  let body = await multipartBody(boundary, title);
  const res = post('/api/videos/upload', body.buffer, 'upload', {
    token,
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    timeout: TIMEOUT,
    status: 201,
    check: false,
  });
  body = null;
  let videoId;
  try {
    videoId = res.json('video_id');
  } catch (_) {
    videoId = undefined;
  }
  const ok = check(res, {
    'upload: 201': (r) => r.status === 201,
    'upload: video_id': () => typeof videoId === 'string' && videoId.length > 0,
  }, { endpoint: 'upload' });
  if (!ok) {
    console.warn(`${burst} VU ${vu}: upload answered ${res.status}: ${String(res.body).slice(0, 300)}`);
  }
}

export function handleSummary(data) {
  return summaryOutputs(data, ENDPOINTS,
    `uploads.js (${BURSTS} burst${BURSTS === 1 ? '' : 's'} × ${VUS} uploads, ${PAUSE} apart, `
    + `${VIDEO_SIZE} bytes each)`);
}
