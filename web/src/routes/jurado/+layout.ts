// The jury's pages (/jurado/…): a session is needed (the login page and back), and a staff one to see anything.
import { requireSession } from '$lib/guard';
import { session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = ({ url, depends }) => {
	// Re-run when the session is lost or changes in another tab.
	depends('app:session');
	requireSession(url);
	// A player's token: the layout says these pages are not theirs, and the pages ask the API for nothing.
	return { staff: session.staff };
};
