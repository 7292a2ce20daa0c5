// The moderation queue's data: a page of reported and hidden videos (most reported first), filtered by `?ver=`.
import { authApi } from '$lib/api/client';
import { requireSession } from '$lib/guard';
import { queueQuery } from '$lib/staff';
import { staffRead } from '$lib/staff-api';
import type { PageLoad } from './$types';

const PAGE_SIZE = 20;

export const load: PageLoad = async ({ url, fetch, parent, depends }) => {
	depends('app:staff');
	const { staff } = await parent();
	const { show, page } = queueQuery(url);
	if (!staff) return { show, page, pageSize: PAGE_SIZE, queue: null, total: 0, error: '' };
	const read = await staffRead(() =>
		authApi.GET('/api/staff/videos', {
			fetch,
			params: { query: { show, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE } }
		})
	);
	if (read.gone) requireSession(url);
	return { show, page, pageSize: PAGE_SIZE, queue: read.data, total: read.total, error: read.error };
};
