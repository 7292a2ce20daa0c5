// Shared helpers of the Rising Stars k6 scenarios (web.js, uploads.js). An ES module: import what
// you need, e.g. `import { get, createUsers } from './lib/common.js';`.
//
// Environment read here (all optional):
//   BASE_URL   the API (default http://127.0.0.1:8080; a trailing slash is trimmed)
//   SUMMARY    where summaryOutputs() writes the end-of-test summary JSON (default: none)
import http from 'k6/http';
import { check, fail } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// Cities the test accounts live in (rankings by city and the public listing filter use them).
export const CITIES = ['Bogotá', 'Medellín', 'Cali', 'Barranquilla', 'Cartagena',
  'Bucaramanga', 'Pereira', 'Manizales', 'Santa Marta', 'Cúcuta'];

// The password of the accounts this test creates (not a secret: they exist only for the test).
export const PASSWORD = 'k6-load-password-1';

/** A token unique to this run (millisecond clock plus a random part), for emails and titles. */
export function runId() {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** The absolute URL of an API path ("/api/..."). */
export function url(path) {
  return `${BASE_URL}${path.startsWith('/') ? '' : '/'}${path}`;
}

const expectedCache = {};
function expectedStatuses(statuses) {
  const key = statuses.join(',');
  if (!expectedCache[key]) {
    expectedCache[key] = http.expectedStatuses(...statuses);
  }
  return expectedCache[key];
}

/**
 * One request to the API, tagged `endpoint` (per-endpoint metrics and thresholds use the tag),
 * with a check that the status is `opts.status`.
 *
 * opts:
 *   status     the status the check expects (default 200)
 *   expected   statuses that do not count in http_req_failed (default: k6's 200–399)
 *   token      sends `Authorization: Bearer <token>`
 *   headers    more headers
 *   body       true: keep the response body (default: only for non-GET requests; k6 then does not
 *              buffer GET bodies nobody reads, less work for a load generator sharing the machine)
 *   raw        true: send `body` as is (string, ArrayBuffer, or an object with http.file() parts
 *              for k6's own multipart); otherwise objects are sent as JSON
 *   timeout    the request timeout (k6's default: 60s)
 *   check      false: no check
 */
export function request(method, path, body, endpoint, opts = {}) {
  const headers = Object.assign({}, opts.headers);
  if (opts.token) {
    headers.Authorization = `Bearer ${opts.token}`;
  }
  let payload = body === undefined ? null : body;
  if (payload !== null && typeof payload === 'object' && !(payload instanceof ArrayBuffer) && !opts.raw) {
    payload = JSON.stringify(payload);
    headers['Content-Type'] = 'application/json';
  }
  const keepBody = opts.body === undefined ? method !== 'GET' : opts.body;
  const params = {
    headers,
    tags: Object.assign({}, opts.tags, { endpoint }),
    responseType: keepBody ? 'text' : 'none',
  };
  if (opts.timeout) {
    params.timeout = opts.timeout;
  }
  if (opts.expected) {
    params.responseCallback = expectedStatuses(opts.expected);
  }
  const res = http.request(method, url(path), payload, params);
  if (opts.check !== false) {
    const status = opts.status || 200;
    check(res, { [`${endpoint}: ${status}`]: (r) => r.status === status });
  }
  return res;
}

export function get(path, endpoint, opts = {}) {
  return request('GET', path, null, endpoint, opts);
}

export function post(path, body, endpoint, opts = {}) {
  return request('POST', path, body, endpoint, opts);
}

/**
 * Creates `count` accounts through the API (signup, then login) and returns
 * `[{ email, password, city, token }]`. Meant for setup(): emails are unique to this run
 * (`k6-<run>-<i>@load.test`); an email that already exists (400 email_taken) is logged in all the
 * same. Requests go out `parallel` at a time and are tagged endpoint `setup_signup` /
 * `setup_login`, so the measured endpoints' figures leave them out. Aborts the test when no
 * account could log in.
 */
export function createUsers(count, { run = runId(), prefix = 'k6', parallel = 10 } = {}) {
  const users = [];
  for (let i = 0; i < count; i++) {
    users.push({
      email: `${prefix}-${run}-${i}@load.test`,
      password: PASSWORD,
      city: CITIES[i % CITIES.length],
      first_name: 'Carga',
      last_name: `Usuario ${i}`,
    });
  }
  const json = { 'Content-Type': 'application/json' };
  const ready = [];
  for (let start = 0; start < users.length; start += parallel) {
    const chunk = users.slice(start, start + parallel);
    const signups = http.batch(chunk.map((u) => ['POST', url('/api/auth/signup'), JSON.stringify({
      first_name: u.first_name, last_name: u.last_name, email: u.email,
      password1: u.password, password2: u.password, city: u.city, country: 'Colombia',
    }), { headers: json, tags: { endpoint: 'setup_signup' }, responseCallback: expectedStatuses([201, 400]) }]));
    signups.forEach((res, k) => {
      const taken = res.status === 400 && bodyField(res, 'code') === 'email_taken';
      if (res.status !== 201 && !taken) {
        console.warn(`setup: signup of ${chunk[k].email} answered ${res.status}: ${res.body}`);
      }
    });
    const logins = http.batch(chunk.map((u) => ['POST', url('/api/auth/login'),
      JSON.stringify({ email: u.email, password: u.password }),
      { headers: json, tags: { endpoint: 'setup_login' } }]));
    logins.forEach((res, k) => {
      const token = res.status === 200 ? bodyField(res, 'access_token') : null;
      if (token) {
        ready.push({ email: chunk[k].email, password: chunk[k].password, city: chunk[k].city, token });
      } else {
        console.warn(`setup: login of ${chunk[k].email} answered ${res.status}: ${res.body}`);
      }
    });
  }
  check(ready, { 'setup: every account logged in': (r) => r.length === count });
  if (ready.length === 0) {
    fail(`setup: none of the ${count} test accounts could log in at ${BASE_URL}`);
  }
  return ready;
}

function bodyField(res, field) {
  try {
    return res.json(field);
  } catch (_) {
    return undefined;
  }
}

/**
 * Thresholds for `endpoints`: a p95 bound on each endpoint's duration (so k6 keeps and reports
 * each endpoint's percentiles), and an always-true one on each endpoint's error rate (so the
 * summary carries each endpoint's requests and errors too: `passes` failed, `fails` did not).
 */
export function endpointThresholds(endpoints, p95Ms) {
  const thresholds = {};
  for (const name of endpoints) {
    thresholds[`http_req_duration{endpoint:${name}}`] = [`p(95)<${p95Ms}`];
    thresholds[`http_req_failed{endpoint:${name}}`] = ['rate>=0'];
  }
  return thresholds;
}

/**
 * What handleSummary() returns. Without SUMMARY: nothing, so k6 prints its usual end-of-test
 * summary. With SUMMARY: the summary data as JSON in that file, and (k6 prints its own summary only
 * when handleSummary returns nothing, and its text formatter is not importable offline) a compact
 * text summary on stdout: thresholds, checks, totals and a per-endpoint table.
 */
export function summaryOutputs(data, endpoints, title = '') {
  if (!__ENV.SUMMARY) {
    return undefined;
  }
  return {
    stdout: compactSummary(data, endpoints, title),
    [__ENV.SUMMARY]: JSON.stringify(data, null, 2),
  };
}

function fixed(x, digits = 2) {
  return typeof x === 'number' && isFinite(x) ? x.toFixed(digits) : '-';
}

export function compactSummary(data, endpoints, title = '') {
  const m = data.metrics;
  const values = (name) => (m[name] && m[name].values) || {};
  const lines = [''];
  const seconds = data.state && data.state.testRunDurationMs ? data.state.testRunDurationMs / 1000 : 0;
  lines.push(`${title ? `${title}: ` : ''}${BASE_URL}, ${fixed(seconds, 1)} s`);

  lines.push('thresholds:');
  const names = Object.keys(m).filter((name) => m[name].thresholds).sort();
  for (const name of names) {
    for (const [expr, result] of Object.entries(m[name].thresholds)) {
      if (expr.endsWith('>=0')) {
        continue; // the always-true ones that only make k6 keep per-endpoint figures
      }
      const stat = expr.split(/[<>=!]/)[0];
      const v = m[name].values[stat];
      lines.push(`  ${result.ok ? 'ok  ' : 'FAIL'} ${name} ${expr} (${stat} = ${fixed(v)})`);
    }
  }

  const checks = values('checks');
  if (checks.passes !== undefined) {
    lines.push(`checks: ${checks.passes} passed, ${checks.fails} failed`);
    const failing = [];
    const walk = (group) => {
      for (const c of group.checks || []) {
        if (c.fails > 0) {
          failing.push(`  failed ${c.fails}× ${c.name} (passed ${c.passes}×)`);
        }
      }
      for (const g of group.groups || []) {
        walk(g);
      }
    };
    walk(data.root_group || {});
    lines.push(...failing);
  }

  const reqs = values('http_reqs');
  const failed = values('http_req_failed');
  lines.push(`requests: ${reqs.count || 0} (${fixed(reqs.rate, 1)}/s), errors: ${fixed((failed.rate || 0) * 100)} % `
    + `(${failed.passes || 0}), p95 ${fixed(values('http_req_duration')['p(95)'])} ms, `
    + `iterations ${values('iterations').count || 0}, max VUs ${values('vus_max').max || values('vus_max').value || 0}`);

  lines.push('endpoint          requests  errors %    p50 ms    p95 ms    p99 ms    max ms');
  for (const name of endpoints) {
    const d = values(`http_req_duration{endpoint:${name}}`);
    const f = values(`http_req_failed{endpoint:${name}}`);
    const count = (f.passes || 0) + (f.fails || 0);
    if (!d.max && !count) {
      continue;
    }
    const errors = (f.rate || 0) * 100;
    const col = (x) => fixed(x).padStart(9);
    lines.push(`${name.padEnd(16)} ${String(count).padStart(9)} ${col(errors)} ${col(d.med)} `
      + `${col(d['p(95)'])} ${col(d['p(99)'])} ${col(d.max)}`);
  }
  lines.push(`summary JSON: ${__ENV.SUMMARY}`, '');
  return lines.join('\n');
}
