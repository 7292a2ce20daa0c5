// The client session: the JWT's `sub`, expiry against the clock, why a session was lost, other tabs, the guard.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isRedirect } from '@sveltejs/kit';

const KEY = 'rs.session';
const HOUR = 3600;

/** A JWT-shaped token (header.payload.signature, base64url) carrying `payload`; nothing is verified here. */
function jwt(payload: object): string {
	const b64url = (s: string) => Buffer.from(s).toString('base64url');
	return `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(payload))}.firma`;
}

/** localStorage and window as the browser has them, in memory; `otherTab` writes as another tab would. */
function fakeBrowser() {
	const items = new Map<string, string>();
	const storage = {
		getItem: (k: string) => items.get(k) ?? null,
		setItem: (k: string, v: string) => void items.set(k, String(v)),
		removeItem: (k: string) => void items.delete(k)
	};
	const win = new EventTarget();
	vi.stubGlobal('localStorage', storage);
	vi.stubGlobal('window', win);
	return {
		items,
		otherTab(value: string | null) {
			if (value === null) items.delete(KEY);
			else items.set(KEY, value);
			win.dispatchEvent(Object.assign(new Event('storage'), { key: KEY }));
		}
	};
}

/** A fresh copy of the session module (its `session` is made at import, reading storage). */
async function load() {
	vi.resetModules();
	const mod = await import('./session.svelte');
	const guard = await import('./guard');
	return { ...mod, ...guard };
}

let browser: ReturnType<typeof fakeBrowser>;

beforeEach(() => {
	vi.useFakeTimers();
	vi.setSystemTime(new Date('2025-03-01T12:00:00Z'));
	browser = fakeBrowser();
});

afterEach(() => {
	vi.useRealTimers();
});

describe('jwtSubject', () => {
	it('reads the sub claim, base64url and unpadded', async () => {
		const { jwtSubject } = await load();
		const id = '0c4f3a5e-8d1b-4b7e-9f3a-2a1d6c0b9e77';
		expect(jwtSubject(jwt({ sub: id, exp: 1 }))).toBe(id);
		// Characters that base64url writes as - and _ (base64's + and /).
		expect(jwtSubject(jwt({ sub: 'ñ>>>??~' }))).toBe('ñ>>>??~');
	});

	it('gives null for anything else', async () => {
		const { jwtSubject } = await load();
		expect(jwtSubject('')).toBeNull();
		expect(jwtSubject('basura.no-es.un-jwt')).toBeNull();
		expect(jwtSubject(jwt({ user: 'x' }))).toBeNull();
		expect(jwtSubject(jwt({ sub: 42 }))).toBeNull();
		expect(jwtSubject('solo-una-parte')).toBeNull();
	});
});

describe('jwtStaff', () => {
	it('is true only for a token carrying role "staff"', async () => {
		const { jwtStaff } = await load();
		expect(jwtStaff(jwt({ sub: 'p-1', role: 'staff' }))).toBe(true);
		expect(jwtStaff(jwt({ sub: 'p-1' }))).toBe(false);
		expect(jwtStaff(jwt({ sub: 'p-1', role: 'player' }))).toBe(false);
		expect(jwtStaff(jwt({ sub: 'p-1', role: ['staff'] }))).toBe(false);
		expect(jwtStaff('basura')).toBe(false);
	});
});

describe('safeNext and loginUrl', () => {
	it('follows only same-site paths that are not the login or sign-up pages', async () => {
		const { safeNext } = await load();
		expect(safeNext('/mis-videos?nuevo=1')).toBe('/mis-videos?nuevo=1');
		for (const bad of [null, '', 'https://evil.example/', '//evil.example/', '/\\evil.example', 'mis-videos', '/ingresar?next=/x', '/registro']) {
			expect(safeNext(bad), String(bad)).toBe('/');
		}
	});

	it('carries where to come back to and why', async () => {
		const { loginUrl } = await load();
		expect(loginUrl('/mis-videos?vista=1', 'rechazada')).toBe('/ingresar?next=%2Fmis-videos%3Fvista%3D1&motivo=rechazada');
		expect(loginUrl('/subir')).toBe('/ingresar?next=%2Fsubir');
	});
});

describe('session', () => {
	it('starts from storage: active, with the label and the player id', async () => {
		browser.items.set(KEY, JSON.stringify({ token: jwt({ sub: 'p-1' }), expiresAt: Date.now() + 1000, label: 'ana@example.com' }));
		const { session } = await load();
		expect(session.active).toBe(true);
		expect(session.label).toBe('ana@example.com');
		expect(session.playerId).toBe('p-1');
	});

	it('ignores unreadable storage', async () => {
		browser.items.set(KEY, '{no es json');
		const { session } = await load();
		expect(session.active).toBe(false);
		expect(session.check()).toBe('none');
	});

	it('expires on the client clock: the token is no longer sent, then forgotten as expired', async () => {
		const { session } = await load();
		const token = jwt({ sub: 'p-1' });
		session.start(token, HOUR, 'ana@example.com');
		expect(JSON.parse(browser.items.get(KEY)!)).toMatchObject({ token, expiresAt: Date.now() + HOUR * 1000 });
		expect(session.tick()).toBe(true);
		expect(session.token()).toBe(token);

		vi.advanceTimersByTime(HOUR * 1000 - 1);
		expect(session.check()).toBe('active');

		vi.advanceTimersByTime(1);
		expect(session.token()).toBeNull();
		expect(session.tick()).toBe(false);
		expect(browser.items.has(KEY)).toBe(false);
		expect(session.active).toBe(false);
		expect(session.playerId).toBeNull();
		expect(session.lost).toBe('expired');
		expect(session.check()).toBe('expired');
	});

	it('a guard finds an expired token itself and says so', async () => {
		const { session } = await load();
		session.start(jwt({ sub: 'p-1' }), 10, 'ana@example.com');
		vi.advanceTimersByTime(10_000);
		expect(session.check()).toBe('expired');
		expect(browser.items.has(KEY)).toBe(false);
	});

	it('remembers a refusal until the next navigation, and a logout is no loss', async () => {
		const { session } = await load();
		session.start(jwt({ sub: 'p-1' }), HOUR, 'a');
		session.drop('refused');
		expect(session.active).toBe(false);
		expect(session.check()).toBe('refused');
		session.forgetLoss();
		expect(session.check()).toBe('none');

		session.start(jwt({ sub: 'p-1' }), HOUR, 'a');
		session.drop('expired');
		session.start(jwt({ sub: 'p-2' }), HOUR, 'b');
		expect(session.lost).toBeNull();
		session.drop('logout');
		expect(session.lost).toBeNull();
		expect(session.check()).toBe('none');
	});

	it('keeps the account with the token it was loaded for', async () => {
		const { session } = await load();
		const account = {
			id: 'p-1',
			first_name: 'Ana',
			last_name: 'Prueba',
			email: 'ana@example.com',
			city: 'Cali',
			country: 'Colombia',
			email_verified: false,
			created_at: '2025-03-01T11:00:00Z',
			role: 'player' as const
		};
		const first = jwt({ sub: 'p-1', n: 1 });
		session.start(first, HOUR, 'ana@example.com');
		expect(session.account).toBeNull();
		session.setAccount(first, account);
		expect(session.account).toEqual(account);

		// An answer for a token that is no longer the session's is dropped; a new token has none yet.
		const second = jwt({ sub: 'p-1', n: 2 });
		session.start(second, HOUR, 'ana@example.com');
		expect(session.account).toBeNull();
		session.setAccount(first, account);
		expect(session.account).toBeNull();

		session.setAccount(second, { ...account, email_verified: true });
		expect(session.account?.email_verified).toBe(true);
		session.drop('logout');
		expect(session.account).toBeNull();
	});

	it('is staff with a staff token, until its loaded account says the role is gone, and never once expired', async () => {
		const { session } = await load();
		const account = {
			id: 'p-1',
			first_name: 'Ana',
			last_name: 'Jurado',
			email: 'ana@example.com',
			city: 'Cali',
			country: 'Colombia',
			email_verified: true,
			created_at: '2025-03-01T11:00:00Z',
			role: 'staff' as const
		};
		session.start(jwt({ sub: 'p-1' }), HOUR, 'ana@example.com');
		expect(session.staff).toBe(false);

		const token = jwt({ sub: 'p-1', role: 'staff' });
		session.start(token, HOUR, 'ana@example.com');
		// The token says so before the account arrives (no flicker of the header's link).
		expect(session.staff).toBe(true);
		session.setAccount(token, account);
		expect(session.staff).toBe(true);
		// An operator's `staff remove`: the account read again no longer has the role.
		session.setAccount(token, { ...account, role: 'player' });
		expect(session.staff).toBe(false);

		const again = jwt({ sub: 'p-1', role: 'staff', n: 2 });
		session.start(again, HOUR, 'ana@example.com');
		expect(session.staff).toBe(true);
		vi.advanceTimersByTime(HOUR * 1000 + 1);
		expect(session.staff).toBe(false);
	});

	it('hears other tabs: a login or logout there reaches the watchers, a rewrite of the same session does not', async () => {
		const { session } = await load();
		const seen = vi.fn();
		const stop = session.watchOtherTabs(seen);
		const stored = JSON.stringify({ token: jwt({ sub: 'p-9' }), expiresAt: Date.now() + 1000, label: 'b' });

		browser.otherTab(stored);
		expect(seen).toHaveBeenCalledTimes(1);
		expect(session.playerId).toBe('p-9');

		browser.otherTab(stored);
		expect(seen).toHaveBeenCalledTimes(1);

		browser.otherTab(null);
		expect(seen).toHaveBeenCalledTimes(2);
		expect(session.active).toBe(false);

		stop();
		browser.otherTab(stored);
		expect(seen).toHaveBeenCalledTimes(2);
	});
});

describe('requireSession', () => {
	/** The redirect the guard throws for `path`, or null when it lets the page load. */
	async function guard(path: string) {
		const { requireSession } = await import('./guard');
		try {
			requireSession(new URL(path, 'http://127.0.0.1:8080'));
			return null;
		} catch (e) {
			if (!isRedirect(e)) throw e;
			return { status: e.status, location: e.location };
		}
	}

	it('lets a session through', async () => {
		const { session } = await load();
		session.start(jwt({ sub: 'p-1' }), HOUR, 'a');
		expect(await guard('/subir')).toBeNull();
	});

	it('sends a person without one to log in and come back, saying why', async () => {
		const { session } = await load();
		expect(await guard('/mis-videos?vista=1')).toEqual({
			status: 307,
			location: '/ingresar?next=%2Fmis-videos%3Fvista%3D1&motivo=requerida'
		});

		session.start(jwt({ sub: 'p-1' }), 5, 'a');
		vi.advanceTimersByTime(5000);
		expect((await guard('/mis-videos'))?.location).toBe('/ingresar?next=%2Fmis-videos&motivo=caducada');

		session.start(jwt({ sub: 'p-1' }), HOUR, 'a');
		session.drop('refused');
		expect((await guard('/subir'))?.location).toBe('/ingresar?next=%2Fsubir&motivo=rechazada');

		// After a navigation the loss is old news: a plain "log in to continue".
		session.forgetLoss();
		expect((await guard('/subir'))?.location).toBe('/ingresar?next=%2Fsubir&motivo=requerida');
	});
});
