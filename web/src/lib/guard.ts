// Route guard of the pages that need a session (the `(cuenta)` group): sends the person to the login page and back.
import { redirect } from '@sveltejs/kit';
import { session, loginUrl } from '$lib/session.svelte';

/** What the login page is told about why the person is there (its `motivo`). */
const MOTIVO = { none: 'requerida', expired: 'caducada', refused: 'rechazada' } as const;

/**
 * Throws a redirect to the login page (coming back to `url` afterwards) unless a session is active.
 * Loads call it again after the server refused their token: the session is gone by then, and why.
 */
export function requireSession(url: URL): void {
	const state = session.check();
	if (state !== 'active') redirect(307, loginUrl(url.pathname + url.search, MOTIVO[state]));
}
