// Rankings data: a page of players, overall or per city, plus the first row of the next page (for ties).
import { api, type RankedPlayer } from '$lib/api/client';
import { listQuery } from '$lib/paging';
import { problemOf, problemText, networkProblem } from '$lib/problem';
import type { PageLoad } from './$types';

const PAGE_SIZE = 20;

interface Ranking {
	rows: RankedPlayer[];
	/** The first row of the next page, fetched only to know whether the last row here is tied with it. */
	peek: RankedPlayer | null;
	total: number;
	/** When this answer arrived. */
	updated: Date;
}

export const load: PageLoad = async ({ url, fetch, depends }) => {
	// Refreshed every 10 s and when the window gets focus back (+page.svelte).
	depends('app:rankings');
	const { city, page } = listQuery(url);
	let ranking: Ranking | null = null;
	let error = '';
	try {
		const { data, error: err, response } = await api.GET('/api/public/rankings', {
			fetch,
			params: { query: { limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE, ...(city ? { city } : {}) } }
		});
		if (data) {
			const total = Number(response.headers.get('X-Total-Count') ?? data.length);
			ranking = { rows: data.slice(0, PAGE_SIZE), peek: data[PAGE_SIZE] ?? null, total, updated: new Date() };
		} else {
			error = problemText(problemOf(err, response));
		}
	} catch {
		error = problemText(networkProblem());
	}
	return { city, page, pageSize: PAGE_SIZE, ranking, error };
};
