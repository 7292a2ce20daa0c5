// Votes under review: a page of the players with held votes, most held first.
import { authApi } from '$lib/api/client';
import { requireSession } from '$lib/guard';
import { pageParam } from '$lib/staff';
import { staffRead } from '$lib/staff-api';
import type { PageLoad } from './$types';

const PAGE_SIZE = 20;

export const load: PageLoad = async ({ url, fetch, parent, depends }) => {
	depends('app:staff');
	const { staff } = await parent();
	const page = pageParam(url);
	if (!staff) return { page, pageSize: PAGE_SIZE, players: null, total: 0, error: '' };
	const read = await staffRead(() =>
		authApi.GET('/api/staff/held-votes', {
			fetch,
			params: { query: { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE } }
		})
	);
	if (read.gone) requireSession(url);
	return { page, pageSize: PAGE_SIZE, players: read.data, total: read.total, error: read.error };
};
