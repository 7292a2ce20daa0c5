// Client-side session: the JWT kept in localStorage with its expiry, the player id from its `sub` claim, and the account it opens.
import { untrack } from 'svelte';
import type { components } from '$lib/api/schema';

/** The logged-in person's account as `GET /api/auth/me` gives it (its `email_verified` decides whether votes count). */
export type Account = components['schemas']['Account'];

const KEY = 'rs.session';

interface Stored {
	token: string;
	/** Epoch milliseconds after which the token is no longer used. */
	expiresAt: number;
	/** What the header shows (the email used to log in). */
	label: string;
}

/** How a session can be lost without the person logging out: its expiry passed, or the server refused it. */
export type LossReason = 'expired' | 'refused';
export type DropReason = LossReason | 'logout';

/** A string claim of a JWT, read without verifying anything (the server does that). */
function jwtClaim(token: string, claim: string): string | null {
	const part = token.split('.')[1];
	if (!part) return null;
	try {
		const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
		const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
		const payload: unknown = JSON.parse(json);
		if (payload && typeof payload === 'object' && claim in payload) {
			const value = (payload as Record<string, unknown>)[claim];
			if (typeof value === 'string') return value;
		}
	} catch {
		// Not a JWT we can read: no claim.
	}
	return null;
}

/** The `sub` claim of a JWT (the player id). */
export const jwtSubject = (token: string): string | null => jwtClaim(token, 'sub');

/** Whether a JWT carries the staff role (`role: "staff"`; a player's token has no `role`). */
export const jwtStaff = (token: string): boolean => jwtClaim(token, 'role') === 'staff';

function read(): Stored | null {
	try {
		const raw = localStorage.getItem(KEY);
		if (!raw) return null;
		const v: unknown = JSON.parse(raw);
		if (
			v &&
			typeof v === 'object' &&
			'token' in v &&
			typeof v.token === 'string' &&
			'expiresAt' in v &&
			typeof v.expiresAt === 'number'
		) {
			const label = 'label' in v && typeof v.label === 'string' ? v.label : '';
			return { token: v.token, expiresAt: v.expiresAt, label };
		}
	} catch {
		// Unreadable storage: treat as logged out.
	}
	return null;
}

/** Where to come back to after logging in: the current path and query. */
export function here(): string {
	return location.pathname + location.search;
}

/** A login URL that returns to `next` afterwards. */
export function loginUrl(next: string = here(), reason?: 'caducada' | 'rechazada' | 'requerida'): string {
	const q = new URLSearchParams({ next });
	if (reason) q.set('motivo', reason);
	return `/ingresar?${q}`;
}

/** Only same-site paths are followed after login. */
export function safeNext(next: string | null): string {
	if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
	if (next.startsWith('/ingresar') || next.startsWith('/registro')) return '/';
	return next;
}

class Session {
	#stored = $state<Stored | null>(null);
	/** The account of a token, once loaded (`lib/account.ts`); it goes with that token. */
	#account = $state<{ token: string; account: Account } | null>(null);
	/** Why the session was lost, for the login page's message; kept until the next navigation or session. */
	#lost: LossReason | null = null;

	/** Who wants to know when another tab starts or ends the session. */
	#watchers = new Set<() => void>();

	constructor() {
		if (typeof window === 'undefined') return;
		this.#stored = read();
		window.addEventListener('storage', (e) => {
			if ((e.key === KEY || e.key === null) && this.#sync(read())) {
				for (const watcher of this.#watchers) watcher();
			}
		});
	}

	/** Updates the reactive copy only when storage really changed (callers may run inside effects); true if it did. */
	#sync(s: Stored | null): boolean {
		const cur = untrack(() => this.#stored);
		if (cur?.token === s?.token && cur?.expiresAt === s?.expiresAt && cur?.label === s?.label) return false;
		this.#stored = s;
		return true;
	}

	/** Calls `watcher` whenever another tab logs in or out; returns what stops it. */
	watchOtherTabs(watcher: () => void): () => void {
		this.#watchers.add(watcher);
		return () => this.#watchers.delete(watcher);
	}

	/** True while a token is stored and its client-side expiry has not passed. */
	get active(): boolean {
		const s = this.#stored;
		return s !== null && Date.now() < s.expiresAt;
	}

	get label(): string {
		return this.active ? (this.#stored?.label ?? '') : '';
	}

	/** The logged-in player's id (the token's `sub`), or null. */
	get playerId(): string | null {
		const s = this.#stored;
		return s && this.active ? jwtSubject(s.token) : null;
	}

	/**
	 * Whether the session is a staff member's: the token carries the role and, once loaded, the account still has it
	 * (an operator's `staff remove` shows at the next `GET /api/auth/me`; the API checks it on every staff request).
	 */
	get staff(): boolean {
		const s = this.#stored;
		if (!s || !this.active || !jwtStaff(s.token)) return false;
		const account = this.account;
		return account === null || account.role === 'staff';
	}

	/** The session's account as last loaded, or null (logged out, or not loaded yet for this token). */
	get account(): Account | null {
		const s = this.#stored;
		const a = this.#account;
		return s && a && a.token === s.token && this.active ? a.account : null;
	}

	/** Remembers `account` as the one `token` opens (ignored when another token is current by then). */
	setAccount(token: string, account: Account) {
		if (untrack(() => this.#stored)?.token === token) this.#account = { token, account };
	}

	/** The token to send, re-read from storage (another tab or a test may have replaced it); null once expired. */
	token(): string | null {
		const s = read();
		this.#sync(s);
		return s && Date.now() < s.expiresAt ? s.token : null;
	}

	start(token: string, expiresInSeconds: number, label: string) {
		const s: Stored = { token, expiresAt: Date.now() + expiresInSeconds * 1000, label };
		localStorage.setItem(KEY, JSON.stringify(s));
		this.#lost = null;
		this.#sync(s);
	}

	/**
	 * For route guards: the state of the stored session, forgetting an expired token without navigating.
	 * Without a session it says how the last one was lost, when that happened since the last navigation.
	 */
	check(): 'active' | 'none' | LossReason {
		const s = read();
		if (s && Date.now() < s.expiresAt) {
			this.#sync(s);
			return 'active';
		}
		if (s) this.drop('expired');
		else this.#sync(null);
		return this.#lost ?? 'none';
	}

	/** How the session was lost ('expired' or 'refused') since the last navigation; null after a logout. */
	get lost(): LossReason | null {
		return this.#lost;
	}

	/** Called on every navigation: a lost session explains itself only where it was lost. */
	forgetLoss() {
		this.#lost = null;
	}

	/**
	 * Re-reads storage and the clock; if a stored token has expired, drops it (see `drop`).
	 * Returns false when the session ended this way.
	 */
	tick(): boolean {
		const s = read();
		if (s && Date.now() >= s.expiresAt) {
			this.drop('expired');
			return false;
		}
		this.#sync(s);
		return true;
	}

	/**
	 * Forgets the token and remembers why. Navigating is the route guard's part: the pages that need a
	 * session (the `(cuenta)` group) re-run it when the session is lost (see `routes/(cuenta)`).
	 */
	drop(reason: DropReason) {
		localStorage.removeItem(KEY);
		this.#lost = reason === 'logout' ? null : reason;
		this.#account = null;
		this.#sync(null);
	}
}

export const session = new Session();
