// Showcase data: a page of published videos, filtered by city, with the total from X-Total-Count.
import { api, type PublicVideo } from '$lib/api/client';
import { listQuery } from '$lib/paging';
import { problemOf, problemText, networkProblem } from '$lib/problem';
import type { PageLoad } from './$types';

const PAGE_SIZE = 12;

export const load: PageLoad = async ({ url, fetch, depends }) => {
	depends('app:showcase');
	const { city, page } = listQuery(url);
	let videos: PublicVideo[] | null = null;
	let total = 0;
	let error = '';
	try {
		const { data, error: err, response } = await api.GET('/api/public/videos', {
			fetch,
			params: { query: { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE, ...(city ? { city } : {}) } }
		});
		if (data) {
			videos = data;
			total = Number(response.headers.get('X-Total-Count') ?? data.length);
		} else {
			error = problemText(problemOf(err, response));
		}
	} catch {
		error = problemText(networkProblem());
	}
	return { city, page, videos, total, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), error };
};
