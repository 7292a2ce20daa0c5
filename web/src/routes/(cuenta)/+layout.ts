// The pages that need a session (/mis-videos, /subir): without one, go to the login page and come back afterwards.
import { requireSession } from '$lib/guard';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = ({ url, depends }) => {
	// Re-run when the session is lost while one of these pages is open (see +layout.svelte).
	depends('app:session');
	requireSession(url);
};
