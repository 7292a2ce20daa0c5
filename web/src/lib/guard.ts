// Route guard for pages that need a session: sends the person to the login page and back.
import { redirect } from '@sveltejs/kit';
import { session, loginUrl } from '$lib/session.svelte';

export function requireSession(url: URL): void {
	const state = session.check();
	if (state !== 'active') {
		redirect(307, loginUrl(url.pathname + url.search, state === 'expired' ? 'caducada' : 'requerida'));
	}
}
