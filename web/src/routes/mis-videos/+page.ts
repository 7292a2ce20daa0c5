// Needs a session: without one, go to the login page and come back here afterwards.
import { requireSession } from '$lib/guard';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ url }) => {
	requireSession(url);
};
