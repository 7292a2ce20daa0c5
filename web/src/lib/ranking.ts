// Ties in a page of the rankings: which rows share their position, as the table marks them.
import type { RankedPlayer } from '$lib/api/client';

type Ranked = Pick<RankedPlayer, 'position'>;

/**
 * For each row of a page whose first row has rank `firstRank` (1 on the first page), whether it shares
 * its position: with a neighbour on this page, with `next` (the first row of the next page, fetched only
 * for this), or with the previous page (a position above the row's rank: a tie that began there).
 */
export function ties(rows: readonly Ranked[], next: Ranked | null, firstRank: number): boolean[] {
	return rows.map(({ position }, i) => {
		const before = i > 0 ? rows[i - 1].position : null;
		const after = i + 1 < rows.length ? rows[i + 1].position : (next?.position ?? null);
		return before === position || after === position || position < firstRank + i;
	});
}
