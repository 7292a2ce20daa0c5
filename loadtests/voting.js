// Voting night for Rising Stars, plain k6: `k6 run loadtests/voting.js`.
//
// Rankings are read while votes stream in, and a probe measures how long an accepted vote takes to
// show in the rankings of a second API instance (its staleness).
//
// Environment (all optional):
//   BASE_URL     the API that takes the reads and the votes (default http://127.0.0.1:8080)
//   PROBE_URL    another instance of the same API (same database) whose rankings the probe
//                polls (default BASE_URL)
//   MIX          "voting" (default): VUS readers in a closed loop (rankings, half of them by city,
//                as web.js MIX=rankings) plus VOTE_RATE votes per second
//                "votes": VOTE_RATE votes per second and nothing else
//                "mixed": VUS in a closed loop, each iteration a ranking read (80 %) or a vote
//                (20 %), every VU a distinct voter (the mix the voting-night issue measured)
//                "deep": as "voting", but the readers are a crawler: each read is a ranking page
//                (all cities or one) or a showcase list page at a random depth (limit 20, 50 or
//                100, ending by the 10,000th row), so nearly every read misses the caches
//   VUS          readers (default 50)
//   READ_RATE    "voting" and "deep": reads per second arriving whatever the latency (an open
//                model, at most VUS at once) instead of VUS readers in a closed loop
//   VOTE_RATE    votes per second, an open model: they arrive at that rate whatever the latency
//                (default 100, i.e. 6,000 a minute, for "voting"; 1000 for "votes")
//   VOTE_BATCH   votes sent together (k6's http.batch) by one voter, VOTE_RATE / VOTE_BATCH times a
//                second (default 10: a k6 iteration costs about as much CPU as the server's work
//                for a vote, and k6 shares the machine; batching halves its share)
//   VOTERS       the most voters voting at once; each is its own account (default 50)
//   DURATION     length of the measured part (default 60s)
//   VIDEOS       the voters vote for the newest this many published videos (default 5000; the
//                listing is walked a city at a time, each to its 10,000-row window)
//   SUMMARY      file for the end-of-test summary JSON (see lib/common.js)
//
// Every vote is a distinct (voter, video) pair: each voter walks the published videos from its own
// starting point, so votes are accepted (200) unless something is wrong. Requests are tagged
// `endpoint`: rankings, rankings_city, vote, probe_vote, probe_read.
//
// The probe (one VU): votes through BASE_URL for a player among the top 20 of a city, then polls
// that city's first 50 ranked players on PROBE_URL every 50 ms until the player's total includes
// the vote (a target that fell out of the 50 would not be seen, and would count as a timeout). `ranking_staleness` is the time from the vote's answer to the first read showing it.
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, CITIES, createUsers, endpointThresholds, get, post, summaryOutputs,
} from './lib/common.js';

const MIX = __ENV.MIX || 'voting';
if (!['voting', 'votes', 'mixed', 'deep'].includes(MIX)) {
  throw new Error(`MIX must be "voting", "votes", "mixed" or "deep", not "${MIX}"`);
}
const VUS = parseInt(__ENV.VUS || '50', 10);
const VOTE_RATE = parseInt(__ENV.VOTE_RATE || (MIX === 'votes' ? '1000' : '100'), 10);
const VOTE_BATCH = parseInt(__ENV.VOTE_BATCH || '10', 10);
const READ_RATE = parseInt(__ENV.READ_RATE || '0', 10);
const VOTERS = parseInt(__ENV.VOTERS || '50', 10);
const DURATION = __ENV.DURATION || '60s';
const VIDEOS = parseInt(__ENV.VIDEOS || '5000', 10);
const PROBE_URL = (__ENV.PROBE_URL || BASE_URL).replace(/\/+$/, '');
/** A probe that has not seen its vote after this long counts as this long, and as a timeout. */
const PROBE_TIMEOUT_MS = 5000;
if (!(VUS > 0) || !(VOTE_RATE > 0) || !(VOTE_BATCH > 0) || !(VOTERS > 0) || !(VIDEOS > 0)) {
  throw new Error('VUS, VOTE_RATE, VOTE_BATCH, VOTERS and VIDEOS must be positive numbers');
}
if (VOTE_RATE % VOTE_BATCH !== 0) {
  throw new Error('VOTE_RATE must be a multiple of VOTE_BATCH');
}

const staleness = new Trend('ranking_staleness', true);
const probeTimeouts = new Counter('ranking_probe_timeouts');
const votersExhausted = new Counter('voters_exhausted');

function scenarios() {
  const probe = { executor: 'constant-vus', exec: 'probe', vus: 1, duration: DURATION };
  if (MIX === 'mixed') {
    return { probe, mixed: { executor: 'constant-vus', exec: 'mixed', vus: VUS, duration: DURATION } };
  }
  const all = {
    probe,
    votes: {
      executor: 'constant-arrival-rate',
      exec: 'votes',
      rate: VOTE_RATE / VOTE_BATCH,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VOTERS,
      maxVUs: VOTERS,
    },
  };
  if (MIX === 'voting' || MIX === 'deep') {
    const exec = MIX === 'voting' ? 'read' : 'deepRead';
    all.readers = READ_RATE > 0
      ? {
        executor: 'constant-arrival-rate', exec, rate: READ_RATE, timeUnit: '1s',
        duration: DURATION, preAllocatedVUs: VUS, maxVUs: VUS,
      }
      : { executor: 'constant-vus', exec, vus: VUS, duration: DURATION };
  }
  return all;
}

const ENDPOINTS = [
  'rankings', 'rankings_city', 'deep_rankings', 'deep_videos', 'vote', 'probe_vote', 'probe_read',
];

export const options = {
  scenarios: scenarios(),
  thresholds: Object.assign({
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.05'],
    ranking_staleness: ['max<1500'],
  }, endpointThresholds(ENDPOINTS, 1000)),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
  setupTimeout: '5m',
};

/**
 * Every published video the listing reaches (id, username, city), newest first: each city's list
 * walked to the end or to the listing's 10,000-row window, whichever comes first.
 */
function publishedVideos() {
  const videos = [];
  for (const city of CITIES) {
    const filter = `city=${encodeURIComponent(city)}`;
    for (let offset = 0; offset + 100 <= 10000; offset += 100) {
      const res = get(`/api/public/videos?${filter}&limit=100&offset=${offset}`, 'setup_videos', { body: true });
      const page = res.status === 200 ? res.json() : [];
      for (const v of page) {
        videos.push({ id: v.video_id, username: v.username, city: v.city, at: v.uploaded_at });
      }
      if (page.length < 100) {
        break;
      }
    }
  }
  return videos.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

/** The probe's targets: the videos of each city's top 20 players (one video each when seeded). */
function probeTargets(videos) {
  const byPlayer = {};
  for (const v of videos) {
    byPlayer[`${v.city}\u0000${v.username}`] = v.id;
  }
  const targets = [];
  for (const city of CITIES) {
    const res = get(`/api/public/rankings?city=${encodeURIComponent(city)}&limit=20`, 'setup_rankings', { body: true });
    for (const row of res.status === 200 ? res.json() : []) {
      const video = byPlayer[`${row.city}\u0000${row.username}`];
      if (video) {
        targets.push({ video, username: row.username, city: row.city });
      }
    }
  }
  return targets;
}

export function setup() {
  const videos = publishedVideos();
  if (videos.length === 0) {
    throw new Error(`no published videos at ${BASE_URL}: seed the database first (cargo xtask seed)`);
  }
  const targets = probeTargets(videos);
  // One account per VU of the test, so every voting VU has its own (VU ids are unique per test).
  const accounts = createUsers(VUS + (MIX === 'mixed' ? 0 : VOTERS) + 1, { prefix: 'voter' });
  return {
    videos: videos.slice(0, VIDEOS).map((v) => v.id),
    targets,
    tokens: accounts.map((a) => a.token),
  };
}

export function read() {
  if (Math.random() < 0.5) {
    get('/api/public/rankings?limit=20', 'rankings');
  } else {
    const city = encodeURIComponent(CITIES[Math.floor(Math.random() * CITIES.length)]);
    get(`/api/public/rankings?city=${city}&limit=20`, 'rankings_city');
  }
}

/** One `name` per kind of deep read, so k6 keeps a handful of time series, not one per URL. */
const DEEP_TAGS = {
  rankings: { tags: { name: 'deep_rankings' } },
  videos: { tags: { name: 'deep_videos' } },
};

/** A crawler's read: a ranking page or a showcase list page at a random depth. */
export function deepRead() {
  const limit = [20, 50, 100][Math.floor(Math.random() * 3)];
  const offset = Math.floor(Math.random() * (10000 - limit + 1));
  const pick = Math.random();
  if (pick < 1 / 3) {
    get(`/api/public/rankings?limit=${limit}&offset=${offset}`, 'deep_rankings', DEEP_TAGS.rankings);
  } else if (pick < 2 / 3) {
    const city = encodeURIComponent(CITIES[Math.floor(Math.random() * CITIES.length)]);
    const depth = Math.floor(offset / CITIES.length);
    get(`/api/public/rankings?city=${city}&limit=${limit}&offset=${depth}`, 'deep_rankings', DEEP_TAGS.rankings);
  } else {
    get(`/api/public/videos?limit=${limit}&offset=${offset}`, 'deep_videos', DEEP_TAGS.videos);
  }
}

// Per VU (each VU has its own copy of module state): how far it is along its walk of the videos.
let walked = 0;

/** This VU's account and its next `count` videos (fewer when its walk is over). */
function nextVotes(data, count) {
  const index = exec.vu.idInTest - 1;
  const videos = data.videos;
  // Spread the voters' starting points over the list so they rarely hit one video at once.
  const start = Math.floor((index * videos.length) / data.tokens.length);
  const picked = [];
  while (picked.length < count && walked < videos.length) {
    picked.push(videos[(start + walked) % videos.length]);
    walked += 1;
  }
  if (picked.length < count) {
    votersExhausted.add(count - picked.length);
  }
  return { token: data.tokens[index % data.tokens.length], videos: picked };
}

/**
 * Where this VU's votes come from, as CloudFront would report it: each voter on a network of its
 * own, as fans are (an API with CLIENT_ADDRESS_HEADER=CloudFront-Viewer-Address keys its
 * per-network limits by it; any other API ignores it). From one address every vote would share
 * one network's counters.
 */
function viewerAddress() {
  return `[2001:db8:${(exec.vu.idInTest).toString(16)}::1]:443`;
}

function voteRequest(token, video) {
  return ['POST', `${BASE_URL}/api/public/videos/${video}/vote`, null, {
    headers: { Authorization: `Bearer ${token}`, 'CloudFront-Viewer-Address': viewerAddress() },
    tags: { endpoint: 'vote' },
    responseType: 'none',
  }];
}

/** The vote stream: VOTE_BATCH votes of one voter at once (each a 200, or an error). */
export function votes(data) {
  const { token, videos } = nextVotes(data, VOTE_BATCH);
  if (videos.length > 0) {
    http.batch(videos.map((video) => voteRequest(token, video)));
  }
}

/** The mix: a ranking read, or (one time in five) this VU's next vote. */
export function mixed(data) {
  if (Math.random() < 0.8) {
    read();
    return;
  }
  const { token, videos } = nextVotes(data, 1);
  if (videos.length > 0) {
    const [method, url, body, params] = voteRequest(token, videos[0]);
    http.request(method, url, body, params);
  }
}

let probed = 0;

export function probe(data) {
  if (probed >= data.targets.length) {
    sleep(1);
    return;
  }
  const target = data.targets[probed];
  probed += 1;
  // The probe VU's own account (unique per test, like every VU's).
  const token = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
  const res = post(`/api/public/videos/${target.video}/vote`, null, 'probe_vote', {
    token, headers: { 'CloudFront-Viewer-Address': viewerAddress() },
  });
  if (res.status !== 200) {
    return;
  }
  const votes = res.json('votes');
  const answered = Date.now();
  const path = `/api/public/rankings?city=${encodeURIComponent(target.city)}&limit=50`;
  for (;;) {
    const read = http.get(`${PROBE_URL}${path}`, { tags: { endpoint: 'probe_read' } });
    const row = read.status === 200 ? read.json().find((r) => r.username === target.username) : undefined;
    const waited = Date.now() - answered;
    if (row && row.votes >= votes) {
      staleness.add(waited);
      break;
    }
    if (waited >= PROBE_TIMEOUT_MS) {
      staleness.add(waited);
      probeTimeouts.add(1);
      break;
    }
    sleep(0.05);
  }
  // Probes start at random points of the instances' refresh cycles.
  sleep(Math.random() * 0.2);
}

export function handleSummary(data) {
  const load = {
    voting: `${VUS} readers, ${VOTE_RATE} votes/s`,
    votes: `${VOTE_RATE} votes/s`,
    mixed: `${VUS} VUs, 80 % reads, 20 % votes`,
  }[MIX];
  return summaryOutputs(data, ENDPOINTS, `voting.js (MIX ${MIX}, ${load})`);
}
