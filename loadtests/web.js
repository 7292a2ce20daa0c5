// The course's web scenario for Rising Stars, plain k6: `k6 run loadtests/web.js`.
//
// Environment (all optional):
//   BASE_URL   the API (default http://127.0.0.1:8080; a trailing slash is trimmed)
//   PROFILE    "course" (default): smoke 5 VUs for 1 min, then ramp 0→VUS over 3 min, then hold
//              VUS for 5 min (stage lengths × SCALE)
//              "closed": VUS constant for DURATION, no ramp (benchmarks: cargo xtask bench api)
//   VUS        peak virtual users (default 50)
//   SCALE      multiplies the course profile's stage lengths (default 1: 1 min + 3 min + 5 min;
//              e.g. 0.05 → 3 s + 9 s + 15 s); stages last at least 1 s
//   DURATION   "closed" profile length (default 60s)
//   MIX        "web" (default): 10 % health, 30 % public videos, 30 % rankings (half of them by
//              city), 30 % login then my videos
//              "rankings": half unfiltered, half by city; "health": GET /health only
//              "staff": the moderation queue as a staff member (STAFF_EMAIL, STAFF_PASSWORD):
//              70 % its first page, 30 % a page at a random offset below 2,000
//              (`cargo xtask bench api --mixes staff --jury <reports>` seeds both)
//   USERS      accounts created through the API in setup for the login step (default 20; MIX web).
//              The course's own load test logs in as five: USERS=5 (`cargo xtask bench api`'s
//              "course" mix), which puts eight times as many logins on each account at once
//   SUMMARY    file to write the end-of-test summary JSON to (handleSummary; default: none). With
//              it, stdout gets a compact text summary; without it, k6's usual one.
//
// Requests are tagged `endpoint`: health, public_videos, rankings, rankings_city, login, my_videos,
// staff_queue, staff_queue_deep (setup's requests: setup_signup, setup_login, setup_staff_login). Pass criteria of the product: p95 ≤ 1 s and
// errors ≤ 5 %; each endpoint also has its own p95 threshold so k6 reports its percentiles.
// VUs loop without think time: the load is set by VUS alone.
import {
  CITIES, PASSWORD, createUsers, endpointThresholds, get, post, summaryOutputs,
} from './lib/common.js';

const PROFILE = __ENV.PROFILE || 'course';
const VUS = parseInt(__ENV.VUS || '50', 10);
const DURATION = __ENV.DURATION || '60s';
const SCALE = parseFloat(__ENV.SCALE || '1');
const MIX = __ENV.MIX || 'web';
const USERS = parseInt(__ENV.USERS || '20', 10);

if (!['course', 'closed'].includes(PROFILE)) {
  throw new Error(`PROFILE must be "course" or "closed", not "${PROFILE}"`);
}
if (!['web', 'rankings', 'health', 'staff'].includes(MIX)) {
  throw new Error(`MIX must be "web", "rankings", "health" or "staff", not "${MIX}"`);
}
if (!(VUS > 0) || !(SCALE > 0) || !(USERS > 0)) {
  throw new Error('VUS, SCALE and USERS must be positive numbers');
}

/** A course stage length: `minutes` × SCALE, in whole seconds, at least 1 s. */
function stage(minutes) {
  return `${Math.max(1, Math.round(minutes * 60 * SCALE))}s`;
}

function scenarios() {
  if (PROFILE === 'closed') {
    return { closed: { executor: 'constant-vus', vus: VUS, duration: DURATION } };
  }
  return {
    smoke: { executor: 'constant-vus', vus: 5, duration: stage(1) },
    ramp_and_hold: {
      executor: 'ramping-vus',
      startTime: stage(1),
      startVUs: 0,
      stages: [
        { duration: stage(3), target: VUS },
        { duration: stage(5), target: VUS },
      ],
    },
  };
}

const ENDPOINTS = [
  'health', 'public_videos', 'rankings', 'rankings_city', 'login', 'my_videos', 'staff_queue',
  'staff_queue_deep',
];

export const options = {
  scenarios: scenarios(),
  thresholds: Object.assign({
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.05'],
  }, endpointThresholds(ENDPOINTS, 1000)),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '5m',
};

export function setup() {
  if (MIX === 'staff') {
    const res = post('/api/auth/login', {
      email: __ENV.STAFF_EMAIL, password: __ENV.STAFF_PASSWORD,
    }, 'setup_staff_login');
    if (res.status !== 200) {
      throw new Error(`the staff member (STAFF_EMAIL) could not log in: ${res.status}`);
    }
    return { users: [], staffToken: res.json('access_token') };
  }
  // Only the login step needs accounts; their tokens are not used (logging in is the measured work).
  return { users: MIX === 'web' ? createUsers(USERS).map((u) => u.email) : [] };
}

function staffQueue(token) {
  if (Math.random() < 0.7) {
    get('/api/staff/videos?limit=20', 'staff_queue', { token });
  } else {
    const offset = Math.floor(Math.random() * 2000);
    get(`/api/staff/videos?limit=20&offset=${offset}`, 'staff_queue_deep', { token });
  }
}

function rankings() {
  if (Math.random() < 0.5) {
    get('/api/public/rankings?limit=20', 'rankings');
  } else {
    const city = encodeURIComponent(CITIES[Math.floor(Math.random() * CITIES.length)]);
    get(`/api/public/rankings?city=${city}&limit=20`, 'rankings_city');
  }
}

function loginThenMyVideos(users) {
  const email = users[Math.floor(Math.random() * users.length)];
  const res = post('/api/auth/login', { email, password: PASSWORD }, 'login');
  if (res.status !== 200) {
    return;
  }
  get('/api/videos', 'my_videos', { token: res.json('access_token') });
}

export default function (data) {
  if (MIX === 'health') {
    get('/health', 'health');
    return;
  }
  if (MIX === 'rankings') {
    rankings();
    return;
  }
  if (MIX === 'staff') {
    staffQueue(data.staffToken);
    return;
  }
  const roll = Math.random();
  if (roll < 0.1) {
    get('/health', 'health');
  } else if (roll < 0.4) {
    get('/api/public/videos?limit=20', 'public_videos');
  } else if (roll < 0.7) {
    rankings();
  } else {
    loginThenMyVideos(data.users);
  }
}

export function handleSummary(data) {
  return summaryOutputs(data, ENDPOINTS, `web.js (${PROFILE}, MIX ${MIX}, ${VUS} VUs)`);
}
