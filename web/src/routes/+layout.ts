// Root layout: a client-only SPA (no SSR, nothing prerendered; the API serves the fallback page) that loads the session's account.
import { loadAccount } from '$lib/account';
import { session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

export const ssr = false;
export const prerender = false;
export const trailingSlash = 'ignore';

export const load: LayoutLoad = ({ depends }) => {
	// Again when another tab logs in or out, or a page's session is lost.
	depends('app:session');
	// Not awaited: no page waits for it; what shows the account (the verification notice) appears when it arrives.
	if (session.active && !session.account) void loadAccount();
};
