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
//   VUS          readers (default 50)
//   VOTE_RATE    votes per second, an open model: they arrive at that rate whatever the latency
//                (default 300, i.e. 18,000 a minute, for "voting"; 1000 for "votes")
//   VOTERS       the most voters voting at once; each is its own account (default 100)
//   DURATION     length of the measured part (default 60s)
//   VIDEOS       at most this many published videos are fetched to vote for (default 5000)
//   SUMMARY      file for the end-of-test summary JSON (see lib/common.js)
//
// Every vote is a distinct (voter, video) pair: each voter walks the published videos from its own
// starting point, so votes are accepted (200) unless something is wrong. Requests are tagged
// `endpoint`: rankings, rankings_city, vote, probe_vote, probe_read.
//
// The probe (one VU): votes through BASE_URL for a player among the top 50 of a city, then polls
// that city's first 100 ranked players on PROBE_URL every 5 ms until the player's total includes
// the vote. `ranking_staleness` is the time from the vote's answer to the first read showing it.
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, CITIES, createUsers, endpointThresholds, get, post, summaryOutputs,
} from './lib/common.js';

const MIX = __ENV.MIX || 'voting';
if (!['voting', 'votes'].includes(MIX)) {
  throw new Error(`MIX must be "voting" or "votes", not "${MIX}"`);
}
const VUS = parseInt(__ENV.VUS || '50', 10);
const VOTE_RATE = parseInt(__ENV.VOTE_RATE || (MIX === 'votes' ? '1000' : '300'), 10);
const VOTERS = parseInt(__ENV.VOTERS || '100', 10);
const DURATION = __ENV.DURATION || '60s';
const VIDEOS = parseInt(__ENV.VIDEOS || '5000', 10);
const PROBE_URL = (__ENV.PROBE_URL || BASE_URL).replace(/\/+$/, '');
/** A probe that has not seen its vote after this long counts as this long, and as a timeout. */
const PROBE_TIMEOUT_MS = 5000;
if (!(VUS > 0) || !(VOTE_RATE > 0) || !(VOTERS > 0) || !(VIDEOS > 0)) {
  throw new Error('VUS, VOTE_RATE, VOTERS and VIDEOS must be positive numbers');
}

const staleness = new Trend('ranking_staleness', true);
const probeTimeouts = new Counter('ranking_probe_timeouts');
const votersExhausted = new Counter('voters_exhausted');

function scenarios() {
  const all = {
    votes: {
      executor: 'constant-arrival-rate',
      exec: 'vote',
      rate: VOTE_RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VOTERS,
      maxVUs: VOTERS,
    },
    probe: { executor: 'constant-vus', exec: 'probe', vus: 1, duration: DURATION },
  };
  if (MIX === 'voting') {
    all.readers = { executor: 'constant-vus', exec: 'read', vus: VUS, duration: DURATION };
  }
  return all;
}

const ENDPOINTS = ['rankings', 'rankings_city', 'vote', 'probe_vote', 'probe_read'];

export const options = {
  scenarios: scenarios(),
  thresholds: Object.assign({
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.05'],
    ranking_staleness: ['max<1500'],
  }, endpointThresholds(ENDPOINTS, 1000)),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '5m',
};

/** The published videos (id, username, city), newest first, at most VIDEOS of them. */
function publishedVideos() {
  const videos = [];
  for (let offset = 0; videos.length < VIDEOS; offset += 100) {
    const res = get(`/api/public/videos?limit=100&offset=${offset}`, 'setup_videos', { body: true });
    const page = res.status === 200 ? res.json() : [];
    if (page.length === 0) {
      break;
    }
    for (const v of page) {
      videos.push({ id: v.video_id, username: v.username, city: v.city });
    }
  }
  return videos.slice(0, VIDEOS);
}

/** The probe's targets: the videos of each city's top 50 players (one video each when seeded). */
function probeTargets(videos) {
  const byPlayer = {};
  for (const v of videos) {
    byPlayer[`${v.city}\u0000${v.username}`] = v.id;
  }
  const targets = [];
  for (const city of CITIES) {
    const res = get(`/api/public/rankings?city=${encodeURIComponent(city)}&limit=50`, 'setup_rankings', { body: true });
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
  const accounts = createUsers(VUS + VOTERS + 2, { prefix: 'voter' });
  return {
    videos: videos.map((v) => v.id),
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

// Per VU (each VU has its own copy of module state): its account and where it is in its walk.
let walked = 0;

export function vote(data) {
  const index = exec.vu.idInTest - 1;
  const videos = data.videos;
  if (walked >= videos.length) {
    votersExhausted.add(1);
    return;
  }
  // Spread the voters' starting points over the list so they rarely hit one video at once.
  const start = Math.floor((index * videos.length) / data.tokens.length);
  const video = videos[(start + walked) % videos.length];
  walked += 1;
  post(`/api/public/videos/${video}/vote`, null, 'vote', { token: data.tokens[index % data.tokens.length] });
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
  const res = post(`/api/public/videos/${target.video}/vote`, null, 'probe_vote', { token });
  if (res.status !== 200) {
    return;
  }
  const votes = res.json('votes');
  const answered = Date.now();
  const path = `/api/public/rankings?city=${encodeURIComponent(target.city)}&limit=100`;
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
    sleep(0.005);
  }
  // Probes start at random points of the instances' refresh cycles.
  sleep(Math.random() * 0.2);
}

export function handleSummary(data) {
  return summaryOutputs(data, ENDPOINTS, `voting.js (MIX ${MIX}, ${MIX === 'voting' ? `${VUS} readers, ` : ''}${VOTE_RATE} votes/s)`);
}
