// Rankings data: a page of players, overall or per city, plus the first row of the next page (for ties).
import { api, type RankedPlayer, type Round, type RoundStanding } from '$lib/api/client';
import { roundsToShow } from '$lib/rounds';
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

/** Rows of a closed round's final standings shown at most (the city filter narrows them). */
const RESULTS_LIMIT = 100;

type Fetch = typeof fetch;

/** What the page says about rounds: the open one (or the next), else the last closed one with its final standings. */
interface RoundsView {
	open: Round | null;
	next: Round | null;
	closed: Round | null;
	standings: RoundStanding[] | null;
	standingsTotal: number;
}

/** The rounds for `city`; null when there are none or they could not be read (the live ranking is shown either way). */
async function roundsView(city: string, fetch: Fetch): Promise<RoundsView | null> {
	try {
		const { data } = await api.GET('/api/public/rounds', { fetch, params: { query: { limit: 20 } } });
		if (!data || data.length === 0) return null;
		const { open, next, closed } = roundsToShow(data, city);
		let standings: RoundStanding[] | null = null;
		let standingsTotal = 0;
		if (!open && closed) {
			const answer = await api.GET('/api/public/rounds/{round_id}/standings', {
				fetch,
				params: { path: { round_id: closed.round_id }, query: { limit: RESULTS_LIMIT, ...(city ? { city } : {}) } }
			});
			if (answer.data) {
				standings = answer.data;
				standingsTotal = Number(answer.response.headers.get('X-Total-Count') ?? answer.data.length);
			}
		}
		return { open, next, closed: standings ? closed : null, standings, standingsTotal };
	} catch {
		return null;
	}
}

export const load: PageLoad = async ({ url, fetch, depends }) => {
	// Refreshed every 10 s and when the window gets focus back (+page.svelte).
	depends('app:rankings');
	const { city, page } = listQuery(url);
	const rounds = roundsView(city, fetch);
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
	return { city, page, pageSize: PAGE_SIZE, ranking, error, rounds: await rounds };
};
