// The audit log's data: a page of staff and operator actions, newest first, optionally about one video or account (`?sobre=`).
import { authApi } from '$lib/api/client';
import { requireSession } from '$lib/guard';
import { pageParam } from '$lib/staff';
import { staffRead } from '$lib/staff-api';
import type { PageLoad } from './$types';

const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const load: PageLoad = async ({ url, fetch, parent, depends }) => {
	depends('app:staff');
	const { staff } = await parent();
	const page = pageParam(url);
	const about = url.searchParams.get('sobre') ?? '';
	const target = UUID.test(about) ? about : null;
	if (!staff) return { page, pageSize: PAGE_SIZE, target, entries: null, total: 0, error: '' };
	const read = await staffRead(() =>
		authApi.GET('/api/staff/audit', {
			fetch,
			params: { query: { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE, ...(target ? { target } : {}) } }
		})
	);
	if (read.gone) requireSession(url);
	return { page, pageSize: PAGE_SIZE, target, entries: read.data, total: read.total, error: read.error };
};
