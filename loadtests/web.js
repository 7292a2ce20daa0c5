// The course's web scenario for Rising Stars, plain k6: `k6 run loadtests/web.js`.
//
// Environment (all optional):
//   BASE_URL   the API (default http://127.0.0.1:8080)
//   PROFILE    "course": smoke 5 VUs, ramp 0→VUS, hold (the course's shape, scaled by SCALE)
//              "closed": VUS constant for DURATION, no think time (benchmarks)
//   VUS        peak virtual users (default 50)
//   DURATION   "closed" profile length (default 60s)
//   SCALE      multiplies the course profile's stage lengths (default 1: 1 min + 3 min + 5 min)
//   MIX        "web" (10 % health, 30 % public videos, 30 % rankings, 30 % login + my videos),
//              "rankings" (half unfiltered, half by city), "health"
//   USERS      accounts created through the API in setup for the login step (default 20)
//   SUMMARY    where to write the end-of-test summary JSON (default: none)
import http from 'k6/http';
import { check } from 'k6';

const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const PROFILE = __ENV.PROFILE || 'course';
const VUS = parseInt(__ENV.VUS || '50', 10);
const DURATION = __ENV.DURATION || '60s';
const SCALE = parseFloat(__ENV.SCALE || '1');
const MIX = __ENV.MIX || 'web';
const USERS = parseInt(__ENV.USERS || '20', 10);
const CITIES = ['Bogotá', 'Medellín', 'Cali', 'Barranquilla', 'Cartagena',
  'Bucaramanga', 'Pereira', 'Manizales', 'Santa Marta', 'Cúcuta'];
const PASSWORD = 'k6-load-password-1';

function seconds(minutes) {
  return `${Math.max(1, Math.round(minutes * 60 * SCALE))}s`;
}

function scenarios() {
  if (PROFILE === 'closed') {
    return { closed: { executor: 'constant-vus', vus: VUS, duration: DURATION } };
  }
  return {
    smoke: { executor: 'constant-vus', vus: 5, duration: seconds(1) },
    ramp_and_hold: {
      executor: 'ramping-vus',
      startTime: seconds(1),
      startVUs: 0,
      stages: [
        { duration: seconds(3), target: VUS },
        { duration: seconds(5), target: VUS },
      ],
    },
  };
}

const endpoints = ['health', 'public_videos', 'rankings', 'rankings_city', 'login', 'my_videos'];
const thresholds = {
  http_req_duration: ['p(95)<1000'],
  http_req_failed: ['rate<0.05'],
};
// A threshold per endpoint makes k6 report each endpoint's own percentiles.
for (const name of endpoints) {
  thresholds[`http_req_duration{endpoint:${name}}`] = ['p(95)<1000'];
}

export const options = {
  scenarios: scenarios(),
  thresholds,
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  discardResponseBodies: false,
};

export function setup() {
  const run = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const users = [];
  if (MIX !== 'web') {
    return { users };
  }
  for (let i = 0; i < USERS; i++) {
    const email = `k6-${run}-${i}@load.test`;
    const body = JSON.stringify({
      first_name: 'Carga', last_name: `Usuario ${i}`, email,
      password1: PASSWORD, password2: PASSWORD,
      city: CITIES[i % CITIES.length], country: 'Colombia',
    });
    const res = http.post(`${BASE}/api/auth/signup`, body, {
      headers: { 'Content-Type': 'application/json' }, tags: { endpoint: 'setup' },
    });
    check(res, { 'setup: signup 201': (r) => r.status === 201 });
    users.push(email);
  }
  return { users };
}

// Bodies of GETs are not read by the checks: k6 does not keep them (less load on the load
// generator, which shares the machine in local runs).
function get(path, endpoint, params = {}) {
  const res = http.get(`${BASE}${path}`, Object.assign({ tags: { endpoint }, responseType: 'none' }, params));
  check(res, { [`${endpoint}: 200`]: (r) => r.status === 200 });
  return res;
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
  const res = http.post(`${BASE}/api/auth/login`, JSON.stringify({ email, password: PASSWORD }), {
    headers: { 'Content-Type': 'application/json' }, tags: { endpoint: 'login' },
  });
  const ok = check(res, { 'login: 200': (r) => r.status === 200 });
  if (!ok) {
    return;
  }
  const token = res.json('access_token');
  get('/api/videos', 'my_videos', { headers: { Authorization: `Bearer ${token}` } });
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
  const out = { stdout: textSummary(data) };
  if (__ENV.SUMMARY) {
    out[__ENV.SUMMARY] = JSON.stringify(data, null, 2);
  }
  return out;
}

// A compact end-of-test table: requests/s, errors, and p50/p95/p99 per endpoint.
function textSummary(data) {
  const m = data.metrics;
  const lines = [];
  const reqs = m.http_reqs ? m.http_reqs.values : { count: 0, rate: 0 };
  const failed = m.http_req_failed ? m.http_req_failed.values.rate : 0;
  lines.push(`requests: ${reqs.count}  rate: ${reqs.rate.toFixed(1)}/s  errors: ${(failed * 100).toFixed(2)} %`);
  lines.push('endpoint          p50 ms   p95 ms   p99 ms');
  for (const name of endpoints) {
    const metric = m[`http_req_duration{endpoint:${name}}`];
    if (!metric || !metric.values || !metric.values.max) {
      continue;
    }
    const v = metric.values;
    const fmt = (x) => (x === undefined ? '-' : x.toFixed(2)).padStart(8);
    lines.push(`${name.padEnd(14)} ${fmt(v.med)} ${fmt(v['p(95)'])} ${fmt(v['p(99)'])}`);
  }
  return `\n${lines.join('\n')}\n`;
}
