// A video's review data: its state, signed links to the clip, every report and its history in the audit log.
import { authApi } from '$lib/api/client';
import { requireSession } from '$lib/guard';
import { staffRead } from '$lib/staff-api';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, url, fetch, parent, depends }) => {
	// Loaded again after each decision.
	depends('app:staff');
	const { staff } = await parent();
	if (!staff) return { id: params.id, reviewed: null, error: '', notFound: false };
	let notFound = false;
	const read = await staffRead(async () => {
		const answer = await authApi.GET('/api/staff/videos/{video_id}', { fetch, params: { path: { video_id: params.id } } });
		notFound = answer.response.status === 404;
		return answer;
	});
	if (read.gone) requireSession(url);
	return { id: params.id, reviewed: read.data, error: read.error, notFound };
};
