// Shared helpers of the browser tests: fixture paths, people and videos made through the API, the mail folder, the run's world.
import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RESULTS = new URL('../test-results/', import.meta.url).pathname;
export const FIXTURES = join(RESULTS, 'fixtures');
export const SCREENSHOTS = join(RESULTS, 'screenshots');
const WORLD = join(RESULTS, 'world.json');

export const fixture = (name: string) => join(FIXTURES, name);

export const PASSWORD = 'Canasta-2024!';

/** A token unique to this moment, for emails and cities that must not clash with earlier runs. */
export const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface Person {
	first_name: string;
	last_name: string;
	email: string;
	city: string;
	country: string;
	id?: string;
}

export function person(first: string, city: string): Person {
	return {
		first_name: first,
		last_name: `Prueba ${uniq()}`,
		email: `e2e-${first.toLowerCase()}-${uniq()}@example.com`,
		city,
		country: 'Colombia'
	};
}

/** Retries a request while the API restarts (connection refused or 502/503 for a few seconds). */
async function retrying<T>(fn: () => Promise<T>, tries = 15): Promise<T> {
	for (let i = 0; ; i++) {
		try {
			return await fn();
		} catch (e) {
			if (i >= tries) throw e;
			await new Promise((r) => setTimeout(r, 2000));
		}
	}
}

export async function signupApi(request: APIRequestContext, p: Person): Promise<Person> {
	const res = await retrying(() =>
		request.post('/api/auth/signup', {
			data: { ...p, password1: PASSWORD, password2: PASSWORD }
		})
	);
	expect(res.status(), await res.text()).toBe(201);
	const body = await res.json();
	return { ...p, id: body.id };
}

export async function loginApi(
	request: APIRequestContext,
	email: string,
	password = PASSWORD
): Promise<{ token: string; expiresIn: number }> {
	const res = await retrying(() => request.post('/api/auth/login', { data: { email, password } }));
	expect(res.status(), await res.text()).toBe(200);
	const body = await res.json();
	return { token: body.access_token, expiresIn: body.expires_in };
}

export async function uploadApi(
	request: APIRequestContext,
	token: string,
	file: string,
	title: string,
	publish: boolean
): Promise<string> {
	const res = await retrying(() =>
		request.post('/api/videos/upload', {
			headers: { Authorization: `Bearer ${token}` },
			multipart: {
				title,
				publish: String(publish),
				video_file: { name: 'clip.mp4', mimeType: 'video/mp4', buffer: readFileSync(file) }
			},
			timeout: 120_000
		})
	);
	expect(res.status(), await res.text()).toBe(201);
	return (await res.json()).video_id;
}

/** Polls the owner's view of a video until the worker is done with it. */
export async function waitProcessed(request: APIRequestContext, token: string, videoId: string, timeoutMs = 240_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const res = await request
			.get(`/api/videos/${videoId}`, { headers: { Authorization: `Bearer ${token}` } })
			.catch(() => null);
		if (res?.ok()) {
			const v = await res.json();
			if (v.status === 'processed') return v;
			if (v.status === 'failed') throw new Error(`video ${videoId} failed: ${v.error}`);
		}
		if (Date.now() > deadline) throw new Error(`video ${videoId} not processed within ${timeoutMs / 1000} s`);
		await new Promise((r) => setTimeout(r, 2000));
	}
}

/** The stack's mail folder (`MAIL_URL=file:<dir>`, one `.eml` per message), as `cargo xtask test` hands it over. */
function mailDir(): string {
	const dir = process.env.MAIL_DIR;
	if (!dir) {
		throw new Error('MAIL_DIR is not set: run against a stack whose API mails to a folder (cargo xtask test --web-only does)');
	}
	return dir;
}

/** The verification links mailed to `email` so far, oldest first, as paths (`/verificar?token=…`). */
export function mailedLinks(email: string): string[] {
	const dir = mailDir();
	let names: string[] = [];
	try {
		// Whole messages only (the API writes `.<id>.eml.partial`, then renames); UUID v7 names sort by time.
		names = readdirSync(dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort();
	} catch {
		return []; // no mail yet: the API makes the folder with its first message
	}
	const links: string[] = [];
	for (const name of names) {
		const text = readFileSync(join(dir, name), 'utf8');
		const split = text.indexOf('\r\n\r\n');
		const head = text.slice(0, split).split('\r\n');
		const to = head.find((l) => l.startsWith('To: '))?.slice(4).trim();
		const line = text
			.slice(split + 4)
			.split('\r\n')
			.find((l) => l.includes('/verificar?token='));
		if (to?.toLowerCase() === email.toLowerCase() && line) {
			const url = new URL(line.trim());
			links.push(url.pathname + url.search);
		}
	}
	return links;
}

/** Waits for the `count`-th verification link mailed to `email` (signup mails off its answer) and gives it. */
export async function verificationLink(email: string, count = 1, timeoutMs = 15_000): Promise<string> {
	let links: string[] = [];
	await expect
		.poll(() => (links = mailedLinks(email)).length, { timeout: timeoutMs, message: `mail number ${count} to ${email}` })
		.toBeGreaterThanOrEqual(count);
	return links[count - 1];
}

/** Verifies `email`'s address with its newest mailed link, as the web app's page does with the token. */
export async function verifyApi(request: APIRequestContext, email: string) {
	const links = mailedLinks(email);
	const link = links.length ? links[links.length - 1] : await verificationLink(email);
	const token = new URL(link, 'http://x').searchParams.get('token');
	const res = await retrying(() => request.post('/api/auth/verify', { data: { token } }));
	expect(res.status(), await res.text()).toBe(200);
}

/** Signs `p` up and verifies the address through the mail folder: a person whose votes count. */
export async function verifiedApi(request: APIRequestContext, p: Person): Promise<Person> {
	const signed = await signupApi(request, p);
	await verificationLink(p.email);
	await verifyApi(request, p.email);
	return signed;
}

/** A vote through the API (`altcha`: a solved challenge, when a 429 asked for one). */
export async function voteApi(request: APIRequestContext, token: string, videoId: string, altcha?: string) {
	const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
	if (altcha) headers.Altcha = altcha;
	return retrying(() => request.post(`/api/public/videos/${videoId}/vote`, { headers }));
}

/** Puts a session into the page's storage the way the login page does, then opens `path`. */
export async function openLoggedIn(page: Page, request: APIRequestContext, email: string, path: string, password = PASSWORD) {
	const { token, expiresIn } = await loginApi(request, email, password);
	await page.goto('/ingresar');
	await page.evaluate(
		([token, expiresIn, email]) =>
			localStorage.setItem(
				'rs.session',
				JSON.stringify({ token, expiresAt: Date.now() + Number(expiresIn) * 1000, label: email })
			),
		[token, String(expiresIn), email]
	);
	await page.goto(path);
}

/**
 * The stack's staff member (`STAFF_EMAIL`, `STAFF_PASSWORD`): staff are made only by an operator's command, so
 * `cargo xtask test --web-only` makes one before the tests and hands its credentials over.
 */
export function staffLogin(): { email: string; password: string } {
	const email = process.env.STAFF_EMAIL;
	const password = process.env.STAFF_PASSWORD;
	if (!email || !password) {
		throw new Error('STAFF_EMAIL and STAFF_PASSWORD are not set: cargo xtask test --web-only makes a staff member and sets them');
	}
	return { email, password };
}

/** Opens `path` logged in as the stack's staff member. */
export async function openAsStaff(page: Page, request: APIRequestContext, path: string) {
	const staff = staffLogin();
	await openLoggedIn(page, request, staff.email, path, staff.password);
}

/** A report through the API, as a logged-in person does from the video's page. */
export async function reportApi(request: APIRequestContext, token: string, videoId: string, reason: string, details?: string) {
	return retrying(() =>
		request.post(`/api/public/videos/${videoId}/report`, {
			headers: { Authorization: `Bearer ${token}` },
			data: details ? { reason, details } : { reason }
		})
	);
}

/** Logs in through the login form (the page must show it). */
export async function loginThroughForm(page: Page, email: string, password = PASSWORD) {
	await page.getByLabel('Correo electrónico').fill(email);
	await page.getByLabel('Contraseña', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Ingresar', exact: true }).click();
}

export interface World {
	city: string;
	owner: Person;
	/** Verified: votes in the specs count. */
	voter: Person;
	videoId: string;
	videoTitle: string;
	/** Two more players with a published video each, for the specs that count votes from their first one. */
	star: Person;
	starVideoId: string;
	pick: Person;
	pickVideoId: string;
	pickVideoTitle: string;
}

export const saveWorld = (w: World) => writeFileSync(WORLD, JSON.stringify(w, null, 2));
export const loadWorld = (): World => JSON.parse(readFileSync(WORLD, 'utf8'));

/** Collects CSP violations and page errors so a spec can assert there were none. */
export function watchConsole(page: Page): string[] {
	const problems: string[] = [];
	page.on('console', (m) => {
		if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(m.text());
	});
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
	return problems;
}

/** axe-core (WCAG 2 A and AA) on the page as it is: no serious or critical violation, and no horizontal scrolling. */
export async function audit(page: Page, name: string) {
	const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
	const bad = result.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} → ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
	expect(bad, bad.join('\n')).toEqual([]);
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
	expect(overflow, `${name} scrolls horizontally`).toBeLessThanOrEqual(0);
}
